#include "runner/reaper.hpp"

#include <spdlog/spdlog.h>

#include "runner/labels.hpp"

namespace runner {

Reaper::Reaper(docker::Engine& engine, const TrackedContainers& tracked, std::string instance_id, OnSweep on_sweep)
    : m_engine(engine), m_tracked(tracked), m_instance_id(std::move(instance_id)), m_on_sweep(std::move(on_sweep)) {}

Reaper::~Reaper() { stop(); }

core::Result<std::size_t> Reaper::sweep() {
  // The engine filters on one label; kind and run id are checked here, so a
  // container of ours that is not a run (or has no run id) is left alone.
  auto listed = m_engine.list_containers(std::string(labels::kInstance) + "=" + m_instance_id);
  if (!listed) return core::fail(listed.error().with_context("listing this instance's containers"));
  std::size_t reaped = 0;
  std::size_t failed = 0;
  for (const auto& container : *listed) {
    const auto label = [&](const char* key) {
      const auto found = container.labels.find(key);
      return found == container.labels.end() ? std::string() : found->second;
    };
    if (label(labels::kInstance) != m_instance_id || label(labels::kKind) != labels::kKindRun) continue;
    const std::string run_id = label(labels::kRunId);
    if (run_id.empty() || m_tracked.contains(run_id)) continue;
    if (auto removed = m_engine.remove_container(container.id); removed) {
      ++reaped;
    } else {
      ++failed;
      spdlog::debug("reaper: {} not removed: {}", container.id.substr(0, 12), removed.error().message);
    }
  }
  if (reaped > 0 || failed > 0) {
    spdlog::info("reaper: removed {} orphaned run container(s) of instance {}{}", reaped, m_instance_id,
                 failed > 0 ? ", " + std::to_string(failed) + " could not be removed (retried next sweep)" : "");
  }
  if (m_on_sweep) m_on_sweep(reaped);
  return reaped;
}

void Reaper::start(std::chrono::milliseconds interval) {
  const std::lock_guard lock(m_mutex);
  if (m_thread.joinable()) return;
  m_stopping = false;
  m_thread = std::thread([this, interval] { loop(interval); });
}

void Reaper::stop() {
  {
    const std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_wake.notify_all();
  if (m_thread.joinable() && m_thread.get_id() != std::this_thread::get_id()) m_thread.join();
}

void Reaper::loop(std::chrono::milliseconds interval) {
  bool engine_was_down = false;
  while (true) {
    auto swept = sweep();
    // Engine trouble is logged when it starts, not every interval while it lasts.
    if (!swept && !engine_was_down) spdlog::warn("reaper: {}", swept.error().message);
    if (swept && engine_was_down) spdlog::info("reaper: engine reachable again");
    engine_was_down = !swept;
    std::unique_lock lock(m_mutex);
    if (m_wake.wait_for(lock, interval, [this] { return m_stopping; })) return;
  }
}

}  // namespace runner
