// The integration suite needs the real engine and the runner images. With no
// engine it reports "skipped" (exit 77, ctest SKIP_RETURN_CODE) — unless
// MCP_SANDBOX_REQUIRE_ENGINE=1 (./build.sh test, CI), where that is a failure.
// Cases tagged [root] are skipped the same way when not root (support/test_session.hpp).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>

#include "core/random.hpp"
#include "docker/curl_engine.hpp"
#include "integration/integration_env.hpp"
#include "runner/labels.hpp"
#include "support/test_session.hpp"

namespace integration {

Environment& env() {
  static Environment environment;
  return environment;
}

runner::Executor make_executor(const config::RunLimits& limits) {
  runner::ExecutorOptions options;
  options.limits = limits;
  options.instance_id = env().instance_id;
  return runner::Executor(*env().engine, env().catalog, options);
}

sandbox::Workspaces workspaces() {
  return sandbox::Workspaces(env().sandbox_root, env().sandbox_root.string(), std::string(40, 'k'));
}

core::Result<runner::RunOutcome> run_ephemeral(runner::RunRequest request, const config::RunLimits& limits) {
  auto spaces = workspaces();
  auto workspace = spaces.open_ephemeral();
  if (!workspace) return core::fail(workspace.error());
  request.workspace = *workspace;
  auto outcome = make_executor(limits).run(request);
  spaces.discard(*workspace);
  return outcome;
}

runner::RunOutcome run(const std::string& language, const std::string& code, int timeout_seconds,
                       const config::RunLimits& limits) {
  runner::RunRequest request;
  request.language = language;
  request.code = code;
  request.timeout_seconds = timeout_seconds;
  auto outcome = run_ephemeral(request, limits);
  if (!outcome) FAIL("run could not happen: " << outcome.error().message);
  return *outcome;
}

}  // namespace integration

namespace {

int leftover_containers() {
  auto& e = integration::env();
  auto left = e.engine->list_containers(std::string(runner::labels::kInstance) + "=" + e.instance_id);
  if (!left) {
    std::cerr << "cannot list containers after the suite: " << left.error().message << "\n";
    return 1;
  }
  for (const auto& container : *left) std::cerr << "container left behind: " << container.id << "\n";
  return static_cast<int>(left->size());
}

}  // namespace

int main(int argc, char** argv) {
  testing::TestSession tests(argc, argv);
  if (const auto early = tests.finished_early()) return *early;
  const char* host = std::getenv("DOCKER_HOST");
  const bool required = std::getenv("MCP_SANDBOX_REQUIRE_ENGINE") != nullptr &&
                        std::string(std::getenv("MCP_SANDBOX_REQUIRE_ENGINE")) == "1";
  docker::EngineOptions options;
  if (host != nullptr && *host != '\0') options.host = host;
  auto engine = docker::connect_engine(options);
  if (!engine) {
    std::cerr << (required ? "FAILED" : "SKIPPED") << ": no Docker engine: " << engine.error().message << "\n";
    return required ? 1 : testing::kSkipped;
  }
  auto& e = integration::env();
  e.engine = std::move(*engine);
  auto registry = runner::Registry::discover(*e.engine);
  if (!registry || registry->runners().empty()) {
    std::cerr << "FAILED: no runner images on the engine; build them with ./build.sh images\n";
    return 1;
  }
  e.catalog.reset(std::move(*registry));
  e.instance_id = "it-" + core::random_hex(6);
  e.sandbox_root = std::filesystem::temp_directory_path() / ("mcp-sandbox-it-" + core::random_hex(6));
  std::filesystem::create_directories(e.sandbox_root);

  const int result = tests.run();
  const int leftovers = leftover_containers();
  std::error_code ignored;
  std::filesystem::remove_all(e.sandbox_root, ignored);
  if (leftovers > 0) std::cerr << "FAILED: " << leftovers << " container(s) of this suite were left behind\n";
  return leftovers > 0 ? 1 : result;
}
