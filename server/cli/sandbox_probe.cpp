#include "cli/sandbox_probe.hpp"

#include <fstream>

#include "cli/sweeper.hpp"
#include "core/random.hpp"
#include "runner/executor.hpp"
#include "runner/labels.hpp"
#include "sandbox/data_attach.hpp"
#include "sandbox/workspace.hpp"

namespace cli {
namespace {

constexpr const char* kMarkerFile = ".sandbox-probe";
constexpr const char* kUnwritable = "sandbox-probe=unwritable";

// The marker write never fails the run: whether it arrived is read from disk.
std::string with_marker(std::string_view script, const std::string& marker) {
  std::string text(script);
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += "{ printf '%s\\n' " + marker + " > /data/" + kMarkerFile + "; } 2>/dev/null || echo " + kUnwritable + "\n";
  return text;
}

std::string read_first_line(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

core::Result<SandboxProbe> probe_sandbox(const config::Config& config, docker::Engine& engine,
                                         const runner::Registry& registry, std::string_view script,
                                         const ProbeObserver& observe) {
  if (registry.find("bash") == nullptr) {
    return core::fail(core::ErrorKind::not_found,
                      "no bash runner image to probe the sandbox root with (build the runner images: ./build.sh images)");
  }
  sandbox::Workspaces workspaces(config.sandbox_root, config.engine_sandbox_path(), core::random_hex(32),
                                 workspace_options(config));
  if (auto ready = workspaces.prepare_root(); !ready) return core::fail(ready.error());
  if (auto quotas = workspaces.check_quota_support(); !quotas) return core::fail(quotas.error());
  auto workspace = workspaces.open_ephemeral();
  if (!workspace) return core::fail(workspace.error());

  runner::RunnerCatalog catalog(registry);
  const std::string instance = "probe-" + core::random_hex(6);
  runner::Executor executor(engine, catalog, runner::ExecutorOptions{config.limits, config.runner_runtime, false, instance});
  const std::string marker = core::random_hex(16);
  runner::RunRequest request;
  request.language = "bash";
  request.code = with_marker(script, marker);
  request.timeout_seconds = 20;
  request.workspace = *workspace;
  bool observed = false;
  if (observe) {
    // The executor labels every container with its instance id, and this
    // instance runs exactly one: the label finds it without a hook in the runner.
    request.on_progress = [&](std::chrono::milliseconds) {
      if (observed) return;
      observed = true;
      auto found = engine.list_containers(std::string(runner::labels::kInstance) + "=" + instance);
      const std::string id = found && found->size() == 1 ? found->front().id : std::string();
      observe(id, workspace->server_path);
    };
  }
  auto outcome = executor.run(request);
  const std::string seen = read_first_line(workspace->server_path / kMarkerFile);
  auto volume = workspaces.usage(*workspace);
  workspaces.discard(*workspace);
  if (!outcome) return core::fail(outcome.error().with_context("probe run failed"));

  SandboxProbe probe{std::move(*outcome), {}, volume, observed};
  if (seen == marker) return probe;
  // Our directory is owned by uid 1000, so a run that cannot write its /data
  // was almost surely given another directory (the engine creates a missing
  // bind source as root): both symptoms have the same cause.
  const bool unwritable = probe.outcome.stdout_data.find(kUnwritable) != std::string::npos;
  probe.problem = (unwritable ? "a probe run (uid 1000) could not write to /data"
                              : "a probe run wrote /data/" + std::string(kMarkerFile) + " but " +
                                    workspace->server_path.string() + " does not show it") +
                  ": the engine mounted " + workspace->engine_path + ", which is not the directory this process made. " +
                  "SANDBOX_HOST_PATH (" + config.engine_sandbox_path() + ") must be the engine's name for SANDBOX_ROOT (" +
                  config.sandbox_root + "); in a container, bind-mount the host directory at the same absolute path";
  return probe;
}

core::Result<void> probe_lending(const config::Config& config, docker::Engine& engine,
                                 const runner::Registry& registry) {
  if (registry.find("bash") == nullptr) {
    return core::fail(core::ErrorKind::not_found, "there is no bash runner to probe with");
  }
  sandbox::Workspaces workspaces(config.sandbox_root, config.engine_sandbox_path(), core::random_hex(32),
                                 workspace_options(config));
  auto pooled = workspaces.open_ephemeral();
  if (!pooled) return core::fail(pooled.error());
  auto conversation = workspaces.open_ephemeral();
  if (!conversation) {
    workspaces.discard(*pooled);
    return core::fail(conversation.error());
  }
  const std::string marker = core::random_hex(16);
  std::ofstream(conversation->server_path / kMarkerFile) << marker << '\n';

  runner::RunnerCatalog catalog(registry);
  runner::ExecutorOptions options{config.limits, config.runner_runtime, false, "probe-" + core::random_hex(6)};
  options.warm_max = 1;
  options.data_follows_mounts = true;
  options.warm_scheduler = [](const std::function<void()>& job) { job(); };  // started before prewarm_new returns
  int hits = 0;
  options.warm_events.claimed = [&hits](bool hit) { hits += hit ? 1 : 0; };
  std::string problem;
  {
    runner::Executor executor(engine, catalog, options);
    if (!executor.prewarm_new(*pooled, "bash") || !executor.warm_ready(pooled->name)) {
      problem = "the engine did not start a container whose /data receives later mounts (slave propagation; "
                "the sandbox root must be on a shared mount)";
    } else if (auto attached = sandbox::AttachedDirectory::attach(conversation->server_path, pooled->server_path);
               !attached) {
      problem = attached.error().message;
    } else {
      runner::RunRequest request;
      request.language = "bash";
      request.code = std::string("cat ") + kMarkerFile;  // relative: the working directory must follow too
      request.timeout_seconds = 20;
      request.workspace = *conversation;
      request.borrowed = *pooled;
      auto outcome = executor.run(request);
      if (auto detached = attached->detach(); !detached) problem = detached.error().message;
      if (!outcome) {
        problem = "the probe run failed: " + outcome.error().message;
      } else if (hits != 1) {
        problem = "the probe run did not take the started container";
      } else if (outcome->stdout_data != marker + "\n") {
        problem = "a mount made after the container started did not reach it (a runtime with its own view of the "
                  "file system, such as gVisor)";
      }
    }
    executor.shutdown();
  }
  workspaces.discard(*conversation);
  workspaces.discard(*pooled);
  if (!problem.empty()) return core::fail(core::ErrorKind::unavailable, problem);
  return {};
}

}  // namespace cli
