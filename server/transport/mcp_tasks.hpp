#pragma once

#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>

namespace transport {

/// The threads that run MCP requests while an HTTP worker streams their answers, plus the stop
/// sources of requests answered in place, so that shutdown can stop and join all of them. Thread-safe.
class McpTasks {
 public:
  McpTasks() = default;
  ~McpTasks();
  McpTasks(const McpTasks&) = delete;
  McpTasks& operator=(const McpTasks&) = delete;

  /// Runs `work` on its own thread; the token stops at shutdown. False (nothing run) after shutdown().
  bool spawn(std::function<void(std::stop_token)> work);

  /// Keeps `source` stopped at shutdown while the returned handle lives; an already stopped source
  /// after shutdown(). For requests answered on the HTTP worker itself.
  [[nodiscard]] std::shared_ptr<void> track(std::stop_source source);

  /// Stops every task and tracked source, then waits for the tasks to end. New work is refused.
  void shutdown();

  /// Tasks still running.
  [[nodiscard]] std::size_t running();

 private:
  struct Task {
    std::jthread thread;
    std::shared_ptr<bool> done;  ///< set under m_mutex when the work returns
  };
  void reap_locked();

  std::mutex m_mutex;
  std::list<Task> m_tasks;
  std::list<std::stop_source> m_tracked;
  bool m_stopping = false;
};

}  // namespace transport
