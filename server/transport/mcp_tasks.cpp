#include "transport/mcp_tasks.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>
#include <vector>

namespace transport {

McpTasks::~McpTasks() { shutdown(); }

bool McpTasks::spawn(std::function<void(std::stop_token)> work) {
  const std::scoped_lock lock(m_mutex);
  if (m_stopping) return false;
  reap_locked();
  auto done = std::make_shared<bool>(false);
  m_tasks.push_back(Task{std::jthread([this, done, work = std::move(work)](std::stop_token stop) {
                           try {
                             work(stop);
                           } catch (const std::exception& error) {
                             spdlog::error("mcp task failed: {}", error.what());
                           } catch (...) {
                             spdlog::error("mcp task failed with a non-exception");
                           }
                           const std::scoped_lock done_lock(m_mutex);
                           *done = true;
                         }),
                         done});
  return true;
}

std::shared_ptr<void> McpTasks::track(std::stop_source source) {
  const std::scoped_lock lock(m_mutex);
  if (m_stopping) {
    source.request_stop();
    return {};
  }
  auto it = m_tracked.insert(m_tracked.end(), std::move(source));
  return std::shared_ptr<void>(nullptr, [this, it](void*) {
    const std::scoped_lock untrack_lock(m_mutex);
    m_tracked.erase(it);
  });
}

void McpTasks::shutdown() {
  std::list<Task> tasks;
  std::vector<std::stop_source> tracked;
  {
    const std::scoped_lock lock(m_mutex);
    m_stopping = true;
    tasks.swap(m_tasks);
    tracked.assign(m_tracked.begin(), m_tracked.end());
  }
  // Stop callbacks run inside request_stop(), so no lock is held here.
  for (auto& source : tracked) source.request_stop();
  for (auto& task : tasks) task.thread.request_stop();
  for (auto& task : tasks) {
    if (task.thread.joinable()) task.thread.join();
  }
}

std::size_t McpTasks::running() {
  const std::scoped_lock lock(m_mutex);
  reap_locked();
  return m_tasks.size();
}

void McpTasks::reap_locked() {
  // A finished task only has its return left to run, and that needs no lock: joining here is brief.
  for (auto it = m_tasks.begin(); it != m_tasks.end();) {
    if (*it->done) {
      it->thread.join();
      it = m_tasks.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace transport
