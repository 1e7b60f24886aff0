// VERSION is the one source of the version: the generated header, /metrics and
// the changelog must all agree with it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/version.hpp"
#include "metrics/metrics.hpp"

namespace {

const std::filesystem::path kSource = MCP_SANDBOX_SOURCE_DIR;

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string version_file() {
  auto text = read_text(kSource / "VERSION");
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

}  // namespace

TEST_CASE("version: the generated header holds what VERSION says") {
  CHECK(std::string(core::kVersion) == version_file());
}

TEST_CASE("version: /metrics exports it as an info gauge") {
  const metrics::Metrics metrics;
  const auto expected = "mcp_sandbox_build_info{version=\"" + version_file() + "\"} 1";
  CHECK(metrics.serialize().find(expected) != std::string::npos);
}

TEST_CASE("version: CHANGELOG.md has a section for it") {
  const auto changelog = read_text(kSource / "CHANGELOG.md");
  CHECK(changelog.find("\n## [" + version_file() + "] - ") != std::string::npos);
}
