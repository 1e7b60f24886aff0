#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <vector>

#include "sandbox/workspace.hpp"

namespace runner {

/// What a caller may choose for a run's way out (docs/security.md, "Egress").
enum class EgressPolicy {
  none,       ///< no network interface but lo (NetworkDisabled; the fast path)
  packages,   ///< the runner's package registries only, through the egress proxy
  allowlist,  ///< the operator's host list, through the egress proxy
  open,       ///< any public address through the egress proxy (never private, loopback, link-local, metadata)
};

/// What a caller asks to run.
struct RunRequest {
  std::string language;  ///< name or alias
  std::string code;
  std::string stdin_data;
  std::optional<int> timeout_seconds;  ///< lowered to the operator's cap; never raised
  std::map<std::string, std::string> environment;
  bool network = false;  ///< the older spelling of egress `open`; only honoured when the operator offers open
  EgressPolicy egress = EgressPolicy::none;  ///< checked against what the operator offers (plan_egress)
  sandbox::Workspace workspace;
  /// The base of the conversation's download URLs, given to the program as FILE_BASE_URL (with
  /// the code, not in the container's environment: see kBootstrap); empty: none.
  std::string files_url;
  /// The directory a started container was made on, waiting in the pool for new conversations,
  /// that this run takes instead of starting one: the caller has attached `workspace`'s directory
  /// on it (sandbox::AttachedDirectory), so the container's /data shows this conversation.
  /// Taken only when the conversation's own next container is not ready; nullopt: none.
  std::optional<sandbox::Workspace> borrowed;
  /// Package specifications (checked by runner::check_dependencies) CodeRun installs into the
  /// conversation before the program runs; the Executor itself ignores them.
  std::vector<std::string> dependencies;
  /// Replaces the manifest's command (and its compile step) when not empty: the package installer.
  std::vector<std::string> command;
  /// Stopping it kills the run (the client cancelled); the run then fails with a timeout-kind error.
  std::stop_token cancel;
  /// Called about once a second while the program runs, with the time since code delivery.
  std::function<void(std::chrono::milliseconds elapsed)> on_progress;
};

/// Exactly what happened to a program that ran.
struct RunOutcome {
  std::string run_id;
  std::string language;  ///< canonical name
  int exit_code = 0;
  bool timed_out = false;   ///< killed at the deadline
  bool oom_killed = false;  ///< killed by the memory limit (engine's state)
  bool truncated = false;   ///< output beyond the cap was dropped
  std::string stdout_data;
  std::string stderr_data;
  std::chrono::milliseconds duration{0};  ///< from code delivery to exit

  /// True when the program exited 0 within its limits.
  [[nodiscard]] bool succeeded() const { return exit_code == 0 && !timed_out && !oom_killed; }
};

}  // namespace runner
