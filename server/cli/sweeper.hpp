#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "config/config.hpp"
#include "metrics/metrics.hpp"
#include "sandbox/workspace.hpp"

namespace cli {

/// How conversations are stored, from the settings (SANDBOX_QUOTA_MB, SANDBOX_QUOTA_FILES).
/// `index`: where conversations live and who used them; empty for the original layout only.
sandbox::WorkspaceOptions workspace_options(const config::Config& config,
                                            std::shared_ptr<sandbox::ConversationIndex> index = nullptr);

/// What the sweep removes, from the settings (SANDBOX_TTL, RUN_TIMEOUT_SECONDS).
sandbox::SweepPolicy sweep_policy(const config::Config& config);

/// Runs Workspaces::sweep at start and then every `interval` on its own
/// thread, logging and counting what it did, until stop() or destruction.
class WorkspaceSweeper {
 public:
  WorkspaceSweeper(const sandbox::Workspaces& workspaces, sandbox::SweepPolicy policy, metrics::Metrics& metrics,
                   std::chrono::seconds interval = std::chrono::seconds(60));
  ~WorkspaceSweeper();
  WorkspaceSweeper(const WorkspaceSweeper&) = delete;
  WorkspaceSweeper& operator=(const WorkspaceSweeper&) = delete;

  /// Ends the thread after the sweep in progress, if any. Safe to call twice.
  void stop();

 private:
  void loop();

  const sandbox::Workspaces& m_workspaces;
  sandbox::SweepPolicy m_policy;
  metrics::Metrics& m_metrics;
  std::chrono::seconds m_interval;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace cli
