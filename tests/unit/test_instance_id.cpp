#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/random.hpp"
#include "runner/instance_id.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using testing::TempDir;

}  // namespace

TEST_CASE("a generated instance id is stored and the same on the next start", "[instance_id]") {
  TempDir root;
  const auto first = runner::resolve_instance_id(root.path.string(), "");
  REQUIRE(first);
  CHECK(first->rfind("srv-", 0) == 0);
  CHECK(fs::exists(root.path / runner::kInstanceIdFile));
  const auto second = runner::resolve_instance_id(root.path.string(), "");
  REQUIRE(second);
  CHECK(*second == *first);
}

TEST_CASE("different sandbox roots get different instance ids", "[instance_id]") {
  TempDir one;
  TempDir two;
  CHECK(runner::resolve_instance_id(one.path.string(), "").value() !=
        runner::resolve_instance_id(two.path.string(), "").value());
}

TEST_CASE("INSTANCE_ID wins and is validated; a corrupt id file is an error", "[instance_id]") {
  TempDir root;
  CHECK(runner::resolve_instance_id(root.path.string(), "prod-a").value() == "prod-a");
  CHECK_FALSE(fs::exists(root.path / runner::kInstanceIdFile));
  CHECK(runner::resolve_instance_id(root.path.string(), "bad id").error().kind == core::ErrorKind::invalid_argument);

  std::ofstream(root.path / runner::kInstanceIdFile) << "not/an id\n";
  const auto corrupt = runner::resolve_instance_id(root.path.string(), "");
  REQUIRE_FALSE(corrupt);
  CHECK(corrupt.error().message.find(".instance-id") != std::string::npos);
}

TEST_CASE("an unwritable sandbox root is an error, not a random id", "[instance_id]") {
  const auto missing = runner::resolve_instance_id("/nonexistent-" + core::random_hex(4), "");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == core::ErrorKind::unavailable);
}
