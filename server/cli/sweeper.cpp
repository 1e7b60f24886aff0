#include "cli/sweeper.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace cli {

sandbox::WorkspaceOptions workspace_options(const config::Config& config,
                                            std::shared_ptr<sandbox::ConversationIndex> index) {
  sandbox::WorkspaceOptions options;
  options.index = std::move(index);
  options.quota = sandbox::VolumeLimits{config.quota_mb * 1024 * 1024, config.quota_files};
  return options;
}

sandbox::SweepPolicy sweep_policy(const config::Config& config) {
  sandbox::SweepPolicy policy;
  policy.ttl_seconds = config::sandbox_ttl_seconds(config);
  // A throwaway workspace of another process (doctor, `run`) lives at most one run long.
  policy.ephemeral_grace_seconds = std::max<std::int64_t>(3600, 2 * std::int64_t{config.limits.timeout_seconds});
  return policy;
}

WorkspaceSweeper::WorkspaceSweeper(const sandbox::Workspaces& workspaces, sandbox::SweepPolicy policy,
                                   metrics::Metrics& metrics, std::chrono::seconds interval)
    : m_workspaces(workspaces), m_policy(policy), m_metrics(metrics), m_interval(interval) {
  m_thread = std::thread([this] { loop(); });
}

WorkspaceSweeper::~WorkspaceSweeper() { stop(); }

void WorkspaceSweeper::stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) m_thread.join();
}

void WorkspaceSweeper::loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    lock.unlock();
    const auto report = m_workspaces.sweep(m_policy);
    lock.lock();
    if (report.removed > 0 || report.unmounted > 0) {
      spdlog::info("sweep: deleted {} idle conversation(s), unmounted {} idle volume(s), {} due but in use",
                   report.removed, report.unmounted, report.in_use);
    }
    for (const auto& problem : report.problems) spdlog::warn("sweep: {}", problem);
    m_metrics.conversations_swept("removed", report.removed);
    m_metrics.conversations_swept("unmounted", report.unmounted);
    m_metrics.conversations_swept("failed", static_cast<int>(report.problems.size()));
    m_wake.wait_for(lock, m_interval, [this] { return m_stopping; });
  }
}

}  // namespace cli
