#include <catch2/catch.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "config/config.hpp"

namespace {

// Sets an environment variable for one test and restores it after.
struct ScopedEnv {
  std::string name;
  ScopedEnv(std::string n, const char* value) : name(std::move(n)) { ::setenv(name.c_str(), value, 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

config::Config parse(std::vector<std::string> args) {
  CLI::App app;
  config::Config config;
  config::register_settings(app, config);
  std::reverse(args.begin(), args.end());
  app.parse(args);
  return config;
}

}  // namespace

TEST_CASE("config: defaults are the documented limits") {
  const auto c = parse({});
  CHECK(c.limits.cpus == 0.5);
  CHECK(c.limits.memory_mb == 256);
  CHECK(c.limits.timeout_seconds == 30);
  CHECK(c.limits.output_bytes == 1024 * 1024);
  CHECK(c.limits.pids == 128);
  CHECK(c.docker_host == "unix:///var/run/docker.sock");
  CHECK_FALSE(c.allow_network);
  CHECK(c.engine_sandbox_path() == c.sandbox_root);
  CHECK(c.required_runners == std::vector<std::string>{"python", "typescript", "javascript", "bash"});
  CHECK(config::validate(c).empty());
}

TEST_CASE("config: environment variables are read and a flag wins over them") {
  ScopedEnv timeout("RUN_TIMEOUT_SECONDS", "12");
  ScopedEnv host("SANDBOX_HOST_PATH", "/srv/host-view");
  ScopedEnv tokens("MCP_API_TOKEN", "aaaa,bbbb");
  auto c = parse({});
  CHECK(c.limits.timeout_seconds == 12);
  CHECK(c.engine_sandbox_path() == "/srv/host-view");
  CHECK(c.api_tokens == std::vector<std::string>{"aaaa", "bbbb"});
  c = parse({"--run-timeout", "7"});
  CHECK(c.limits.timeout_seconds == 7);
}

TEST_CASE("config: out-of-range values are refused by the parser") {
  CHECK_THROWS_AS(parse({"--run-timeout", "0"}), CLI::ValidationError);
  CHECK_THROWS_AS(parse({"--run-memory-mb", "1"}), CLI::ValidationError);
  CHECK_THROWS_AS(parse({"--log-format", "xml"}), CLI::ValidationError);
}

TEST_CASE("config: validate lists every problem") {
  auto c = parse({"--sandbox-root", "relative/dir", "--sandbox-host-path", "also-relative"});
  const auto problems = config::validate(c);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("SANDBOX_ROOT must be an absolute path") != std::string::npos);
  CHECK(problems[1].find("SANDBOX_HOST_PATH must be an absolute host path") != std::string::npos);
}

TEST_CASE("config: secrets must be set and long enough") {
  auto c = parse({});
  auto problems = config::validate_secrets(c);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("MCP_API_TOKEN is not set") != std::string::npos);
  CHECK(problems[1].find("FILE_SECRET is not set") != std::string::npos);

  c = parse({"--api-token", std::string(32, 'a') + ",short", "--file-secret", std::string(31, 'b')});
  problems = config::validate_secrets(c);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("shorter than 32") != std::string::npos);
  CHECK(problems[1].find("FILE_SECRET is shorter than 32") != std::string::npos);

  c = parse({"--api-token", std::string(32, 'a'), "--file-secret", std::string(32, 'b')});
  CHECK(config::validate_secrets(c).empty());
}

TEST_CASE("config: secrets can come from files") {
  const auto dir = std::filesystem::temp_directory_path();
  const auto token_file = dir / "mcp-sandbox-test-tokens";
  const auto secret_file = dir / "mcp-sandbox-test-secret";
  std::ofstream(token_file) << std::string(32, 'a') << "\n" << std::string(32, 'c') << "\n";
  std::ofstream(secret_file) << std::string(40, 'b') << "\n";
  auto c = parse({"--api-token-file", token_file.string(), "--file-secret-file", secret_file.string()});
  CHECK(config::resolve_secret_files(c).empty());
  CHECK(c.api_tokens == std::vector<std::string>{std::string(32, 'a'), std::string(32, 'c')});
  CHECK(c.file_secret == std::string(40, 'b'));
  std::filesystem::remove(token_file);
  std::filesystem::remove(secret_file);

  c = parse({"--file-secret-file", "/nonexistent/secret"});
  const auto problems = config::resolve_secret_files(c);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("cannot be read") != std::string::npos);
}

TEST_CASE("config: every environment variable in --help is documented in .env.example") {
  CLI::App app;
  config::Config c;
  config::register_settings(app, c);
  std::set<std::string> names;
  for (const auto* option : app.get_options()) {
    if (!option->get_envname().empty()) names.insert(option->get_envname());
  }
  REQUIRE(names.size() > 20);
  std::ifstream example(std::string(MCP_SANDBOX_SOURCE_DIR) + "/.env.example");
  REQUIRE(example);
  std::stringstream text;
  text << example.rdbuf();
  for (const auto& name : names) {
    CAPTURE(name);
    CHECK(std::regex_search(text.str(), std::regex("(^|\\n)#? ?" + name + "=")));
  }
}

TEST_CASE("config: conversation quota and TTL settings") {
  auto c = parse({});
  CHECK(c.quota_mb == 1024);
  CHECK(c.quota_files == 20000);
  CHECK(config::sandbox_ttl_seconds(c) == 3 * 86400);
  CHECK(config::parse_duration_seconds("0") == 0);
  CHECK(config::parse_duration_seconds("90") == 90);
  CHECK(config::parse_duration_seconds("90s") == 90);
  CHECK(config::parse_duration_seconds("30m") == 1800);
  CHECK(config::parse_duration_seconds("12h") == 43200);
  CHECK(config::parse_duration_seconds("7d") == 7 * 86400);
  for (const char* bad : {"", "d", "-1", "3 d", "1w", "1.5h", "99999999999999999d"}) {
    CAPTURE(bad);
    CHECK_FALSE(config::parse_duration_seconds(bad));
  }
  ScopedEnv ttl("SANDBOX_TTL", "soon");
  ScopedEnv quota("SANDBOX_QUOTA_MB", "8");
  c = parse({});
  const auto problems = config::validate(c);
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("SANDBOX_QUOTA_MB must be 0 (off) or at least 16") != std::string::npos);
  CHECK(problems[1].find("SANDBOX_TTL") != std::string::npos);
  c = parse({"--sandbox-quota-mb", "16", "--sandbox-quota-files", "100000", "--sandbox-ttl", "1h"});
  REQUIRE(config::validate(c).size() == 1);
  CHECK(config::validate(c)[0].find("SANDBOX_QUOTA_FILES") != std::string::npos);
  CHECK(config::validate(parse({"--sandbox-quota-mb", "0", "--sandbox-quota-files", "100000", "--sandbox-ttl", "0"})).empty());
}

TEST_CASE("config: egress settings, off by default, each problem named") {
  auto c = parse({});
  CHECK(c.egress_policies.empty());
  CHECK(c.egress_network == "mcp-sandbox-egress");
  CHECK(c.egress_grants_directory() == c.state_directory() + "/egress-grants");
  CHECK(config::validate(c).empty());
  c = parse({"--egress-policies", "packages,allowlist", "--egress-allowlist", "*.mirror.test,files.test",
             "--egress-package-hosts", "python=pypi.mirror.test,python=files.mirror.test", "--egress-permitted-ranges",
             "10.1.0.0/16,fd00::/8"});
  CHECK(c.egress_policies == std::vector<std::string>{"packages", "allowlist"});
  CHECK(c.egress_allowlist.size() == 2);
  CHECK(config::validate(c).empty());
  c = parse({"--egress-policies", "packages,everything,allowlist", "--egress-package-hosts", "python", "--egress-permitted-ranges",
             "10.1.0.1/16", "--egress-grants-dir", "relative"});
  const auto problems = config::validate(c);
  REQUIRE(problems.size() == 5);
  CHECK(problems[0].find("'everything'") != std::string::npos);
  CHECK(problems[1].find("EGRESS_ALLOWLIST names no host") != std::string::npos);
  CHECK(problems[2].find("language=host") != std::string::npos);
  CHECK(problems[3].find("'10.1.0.1/16'") != std::string::npos);
  CHECK(problems[4].find("EGRESS_GRANTS_DIR") != std::string::npos);
}

TEST_CASE("config: the package installers' environment is language:NAME=value") {
  auto c = parse({"--install-environment",
                  "python:PIP_INDEX_URL=http://pypi.mirror.test/simple/?a=b,javascript:npm_config_registry=http://npm.test/"});
  CHECK(c.install_environment.size() == 2);
  CHECK(config::validate(c).empty());
  for (const char* bad : {"PIP_INDEX_URL=x", ":A=b", "python:=x", "python:1A=x", "python:A-B=x", "python:A"}) {
    CAPTURE(bad);
    c = parse({"--install-environment", bad});
    const auto problems = config::validate(c);
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].find("INSTALL_ENVIRONMENT entries are language:NAME=value") != std::string::npos);
  }
}

TEST_CASE("config: the CIMD test origin is refused unless test mode is on too") {
  CHECK(config::validate(parse({})).empty());
  const std::vector<std::string> test_origin = {"--oauth-cimd-test-origin", "https://localhost:8443",
                                                "--oauth-cimd-test-ca", "/tmp/ca.pem"};
  auto problems = config::validate(parse(test_origin));
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("MCP_SANDBOX_TEST_MODE=1") != std::string::npos);
  // The CA alone is refused as well: no half of the hatch works without test mode.
  problems = config::validate(parse({"--oauth-cimd-test-ca", "/tmp/ca.pem"}));
  CHECK(std::any_of(problems.begin(), problems.end(),
                    [](const std::string& p) { return p.find("MCP_SANDBOX_TEST_MODE=1") != std::string::npos; }));

  auto with_mode = test_origin;
  with_mode.insert(with_mode.end(), {"--test-mode", "1"});
  CHECK(config::validate(parse(with_mode)).empty());
  {
    const ScopedEnv mode("MCP_SANDBOX_TEST_MODE", "1");
    const ScopedEnv origin("OAUTH_CIMD_TEST_ORIGIN", "https://localhost:9443");
    const ScopedEnv ca("OAUTH_CIMD_TEST_CA", "/tmp/ca.pem");
    const auto c = parse({});
    CHECK(c.test_mode);
    CHECK(c.oauth_cimd_test_origin == "https://localhost:9443");
    CHECK(config::validate(c).empty());
  }

  for (const char* origin : {"https://127.0.0.1:8443", "http://localhost:8443", "https://localhost",
                             "https://localhost:8443/", "https://example.com:443", "https://localhost:99999",
                             "https://localhost:08443"}) {
    CAPTURE(origin);
    CHECK_FALSE(config::valid_test_origin(origin));
    const auto refused = config::validate(
        parse({"--test-mode", "1", "--oauth-cimd-test-origin", origin, "--oauth-cimd-test-ca", "/tmp/ca.pem"}));
    REQUIRE(refused.size() == 1);
    CHECK(refused[0].find("OAUTH_CIMD_TEST_ORIGIN must be") != std::string::npos);
  }
  CHECK(config::valid_test_origin("https://localhost:1"));
  const auto no_ca = config::validate(parse({"--test-mode", "1", "--oauth-cimd-test-origin", "https://localhost:8443"}));
  REQUIRE(no_ca.size() == 1);
  CHECK(no_ca[0].find("OAUTH_CIMD_TEST_CA") != std::string::npos);
}
