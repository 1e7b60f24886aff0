#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>

#include "runner/image_ids.hpp"
#include "support/fake_engine.hpp"

namespace {

constexpr auto kTag = "mcp-sandbox/runner-python:latest";
constexpr std::chrono::milliseconds kFresh{0};
constexpr std::chrono::hours kLong{1};

long inspects(const testing::FakeEngine& engine) {
  return std::count(engine.calls.begin(), engine.calls.end(), "inspect_image");
}

}  // namespace

TEST_CASE("image ids: a recent answer is reused, a fresh one is always read from the engine") {
  testing::FakeEngine engine;
  engine.add_runner("python");
  runner::ImageIds ids(engine);
  CHECK(ids.current(kTag, kLong).value() == "sha256:python");
  CHECK(ids.current(kTag, kLong).value() == "sha256:python");
  CHECK(inspects(engine) == 1);

  // A rebuild moves the tag: a fresh read sees it at once, and later reads reuse the new answer.
  engine.images[0].id = "sha256:rebuilt";
  CHECK(ids.current(kTag, kLong).value() == "sha256:python");  // within max_age: the answer read before
  CHECK(ids.current(kTag, kFresh).value() == "sha256:rebuilt");
  CHECK(ids.current(kTag, kLong).value() == "sha256:rebuilt");
  CHECK(inspects(engine) == 2);
}

TEST_CASE("image ids: failed reads are not kept, and each tag has its own answer") {
  testing::FakeEngine engine;
  engine.add_runner("python");
  engine.add_runner("bash");
  runner::ImageIds ids(engine);
  engine.failures["inspect_image"] = core::Error{core::ErrorKind::unavailable, "engine away"};
  CHECK(ids.current(kTag, kLong).error().kind == core::ErrorKind::unavailable);
  engine.failures.clear();
  CHECK(ids.current(kTag, kLong).value() == "sha256:python");
  CHECK(ids.current("mcp-sandbox/runner-bash:latest", kLong).value() == "sha256:bash");
  CHECK(ids.current("mcp-sandbox/runner-none:latest", kLong).error().kind == core::ErrorKind::not_found);
  CHECK(inspects(engine) == 4);
}
