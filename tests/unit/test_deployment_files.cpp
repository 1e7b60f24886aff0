// The deployment files stay in step with the code: docs/configuration.md is
// the table of settings from --help, and every variable the compose files
// read is documented in .env.example.
#include <CLI/CLI.hpp>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "config/config.hpp"

namespace {

const std::filesystem::path kSource = MCP_SANDBOX_SOURCE_DIR;
constexpr const char* kBegin = "<!-- settings: generated from --help by tests/unit/test_deployment_files.cpp -->\n";
constexpr const char* kEnd = "<!-- end of settings -->\n";

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string cell(std::string text) {
  std::string escaped;
  for (char c : text) escaped += c == '|' ? std::string("\\|") : std::string(1, c);
  return escaped;
}

// One table per option group, in the order register_settings defines them.
std::string settings_tables() {
  CLI::App app;
  config::Config c;
  config::register_settings(app, c);
  std::ostringstream out;
  std::string group;
  for (const auto* option : app.get_options()) {
    if (option->get_envname().empty()) continue;
    if (option->get_group() != group) {
      group = option->get_group();
      out << "\n### " << group << "\n\n| variable | flag | default | what |\n|---|---|---|---|\n";
    }
    const auto fallback = option->get_default_str();
    out << "| `" << option->get_envname() << "` | `" << option->get_name() << "` | "
        << (fallback.empty() ? std::string("(empty)") : "`" + cell(fallback) + "`") << " | "
        << cell(option->get_description()) << " |\n";
  }
  out << "\n";
  return out.str();
}

}  // namespace

TEST_CASE("deployment: docs/configuration.md lists every setting as --help defines it") {
  const auto path = kSource / "docs/configuration.md";
  const std::string text = read_text(path);
  const auto begin = text.find(kBegin);
  const auto end = text.find(kEnd);
  REQUIRE(begin != std::string::npos);
  REQUIRE(end != std::string::npos);
  const std::string current = text.substr(begin + std::strlen(kBegin), end - begin - std::strlen(kBegin));
  const std::string expected = settings_tables();
  // MCP_SANDBOX_UPDATE_DOCS=1 rewrites the section after a setting changed.
  if (current != expected && std::getenv("MCP_SANDBOX_UPDATE_DOCS") != nullptr) {
    std::ofstream(path) << text.substr(0, begin + std::strlen(kBegin)) << expected << text.substr(end);
    SUCCEED("rewrote " << path.string());
    return;
  }
  INFO("docs/configuration.md is stale; regenerate it: MCP_SANDBOX_UPDATE_DOCS=1 config_tests \"deployment:*\"");
  CHECK(current == expected);
}

TEST_CASE("deployment: every variable the compose files read is documented in .env.example") {
  const std::string example = read_text(kSource / ".env.example");
  const std::regex reference(R"(\$\{([A-Z_][A-Z0-9_]*))");
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kSource / "compose")) {
    if (entry.path().extension() != ".yml") continue;
    ++files;
    const std::string compose = read_text(entry.path());
    for (std::sregex_iterator it(compose.begin(), compose.end(), reference), last; it != last; ++it) {
      const std::string name = (*it)[1];
      CAPTURE(entry.path().filename().string(), name);
      CHECK(std::regex_search(example, std::regex("(^|\\n)#? ?" + name + "=")));
    }
  }
  CHECK(files >= 3);
}
