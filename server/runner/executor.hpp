#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/egress_plan.hpp"
#include "runner/registry.hpp"
#include "runner/run.hpp"
#include "runner/run_container.hpp"
#include "runner/run_drain.hpp"
#include "runner/tracked_containers.hpp"
#include "runner/warm_pool.hpp"

namespace runner {

struct ExecutorOptions {
  config::RunLimits limits;
  std::string runtime;         ///< OCI runtime; empty = engine default
  bool allow_network = false;  ///< ALLOW_NETWORK: offers egress open (RunRequest::network) besides `egress`
  std::string instance_id;     ///< labels every container so a reaper can tell ours apart
  /// Where live run ids are registered for the reaper; null when nothing reaps (the CLI).
  TrackedContainers* tracked = nullptr;
  /// Counts runs in flight for a graceful shutdown; null when nothing drains (the CLI).
  RunDrain* drain = nullptr;
  /// After a kill at the deadline, how long to wait for the rest of the output.
  std::chrono::milliseconds drain_after_kill{2000};
  /// Warm containers (WarmPool): most kept idle at once; 0 = every run starts cold.
  std::size_t warm_max = 0;
  std::chrono::seconds warm_idle{300};
  WarmPoolEvents warm_events{};
  /// Every container's /data receives mounts made on its directory later (slave propagation), so a
  /// started container can be lent to a conversation whose next one is not ready
  /// (RunRequest::borrowed). Only where share_mounts_under() holds and a probe saw it work: the
  /// engine refuses such a bind from a private mount, and gVisor's kernel never sees the mount.
  bool data_follows_mounts = false;
  /// Runs warm-start jobs; empty = a background thread (tests run them inline).
  std::function<void(std::function<void()>)> warm_scheduler{};
  /// The deadline, in seconds from code delivery, a run of `manifest` asking for `requested` gets.
  [[nodiscard]] int timeout_seconds(const Manifest& manifest, std::optional<int> requested) const;

  /// What runs may choose for a way out and where the proxy is (runner::egress_settings).
  EgressSettings egress{};
};

/// Runs each program in a fresh container: create -> attach -> start ->
/// deliver code -> wait (deadline) -> collect -> remove. The container is
/// removed on every path. With warm containers on, the first three steps of a
/// conversation's next run happen in the background while its previous run runs
/// (WarmPool); the container is still fresh and used once. A program that fails is an outcome, not an error;
/// errors mean the run could not happen (bad request, engine trouble).
/// Engine trouble is `unavailable` ("engine unavailable ..."); a run whose
/// container vanished or whose engine went away once it started is
/// reported as "run interrupted: ...". When a runtime is configured, each
/// container's actual runtime is checked (start_run_container): never a
/// silent fallback.
class Executor {
 public:
  Executor(docker::Engine& engine, RunnerCatalog& catalog, ExecutorOptions options);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  core::Result<RunOutcome> run(const RunRequest& request);

  /// Starts the conversation's next container in the background (after an
  /// upload, say) in the conversation's last language, for a run with no
  /// environment of the caller's and no network; does nothing when warm containers are off
  /// or the conversation has not run yet. A run warms its successor itself.
  void prewarm(const sandbox::Workspace& workspace);

  /// Starts a container for `language` (a name or an alias) on `workspace` in the background, as
  /// prewarm does, for a conversation that does not exist yet (or for a run to borrow); false when
  /// warm containers are off, the language is unknown or WARM_MAX has no room for it (it may evict the longest-idle
  /// successor, see WarmFor).
  bool prewarm_new(const sandbox::Workspace& workspace, const std::string& language);

  /// Whether prewarm_new would start a container now (WARM_MAX has room, or a successor may make it).
  [[nodiscard]] bool warm_room_for_new() const;

  /// The runner's own name for `language` (resolving aliases); nullopt when unknown.
  [[nodiscard]] std::optional<std::string> language_name(const std::string& language) const;

  /// Whether a warm container for `workspace_name` is ready or on its way.
  [[nodiscard]] bool warm_holds(const std::string& workspace_name) const;

  /// Whether a warm container for `workspace_name` is started and waiting (not only on its way).
  [[nodiscard]] bool warm_ready(const std::string& workspace_name) const;

  /// Whether runs may borrow a pooled container (ExecutorOptions::data_follows_mounts).
  [[nodiscard]] bool lends_pooled() const { return m_warm && m_options.data_follows_mounts; }

  /// Removes the warm container of `workspace_name`, if any, now.
  void warm_drop(const std::string& workspace_name, std::string_view reason);

  /// Removes every warm container and stops starting new ones.
  void shutdown();

  /// Idle warm containers right now (0 when off).
  [[nodiscard]] std::size_t warm_idle() const;

  /// The deadline, in seconds from code delivery, a run of `manifest` asking for `requested` gets.
  [[nodiscard]] int timeout_seconds(const Manifest& manifest, std::optional<int> requested) const;

  /// What runs may choose for a way out (list_runners and the run_code schema say it).
  [[nodiscard]] const EgressSettings& egress() const { return m_options.egress; }

  /// The OCI runtime every run gets; empty = the engine's default.
  [[nodiscard]] const std::string& runtime() const { return m_options.runtime; }

 private:
  core::Result<void> check(const RunRequest& request) const;
  /// build_container_spec with this executor's runtime and /data propagation.
  docker::ContainerSpec spec_for(const Manifest& manifest, const RunRequest& request,
                                 const RunIdentity& identity) const;
  core::Result<Runner> resolve(const std::string& language);
  RunIdentity new_identity() const;
  /// Whether the deployment's egress proxy runs on `network`; unavailable (saying what is missing) if not.
  core::Result<void> egress_proxy_running(const std::string& network);
  bool prewarm(const sandbox::Workspace& workspace, const Manifest& manifest,
               const std::map<std::string, std::string>& environment, WarmFor purpose = WarmFor::successor);
  /// Delivers the code, then calls `delivered` (may be empty), then collects the output.
  core::Result<RunOutcome> execute(StartedContainer& container, const RunRequest& request, const Runner& runner,
                                   int timeout_seconds, const std::function<void()>& delivered);
  /// The program's exit status from the engine's wait, killing the container at the deadline
  /// (then `timed_out` is set).
  core::Result<int> wait_for_exit(const std::string& id, docker::Attachment& attachment, docker::StreamDemux& output,
                                  std::chrono::steady_clock::time_point deadline, bool& timed_out);

  docker::Engine& m_engine;
  RunnerCatalog& m_catalog;
  ExecutorOptions m_options;
  std::unique_ptr<WarmPool> m_warm;  ///< null when warm containers are off
};

}  // namespace runner
