#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>

namespace http {

/// httplib's task queue (one task = one connection), elastic instead of fixed: a worker thread
/// starts when a connection arrives and no worker is idle, up to `max_threads`; beyond that,
/// connections wait in arrival order, as with httplib::ThreadPool. A worker idle for `idle_exit`
/// ends. Why: every open stream holds a worker, so the cap is sized for streams (64), but a fixed
/// pool keeps the stack pages of every worker that ever served (a burst of 8 clients left ~1.5 MiB
/// resident for good). An ended thread's stack goes back to the kernel (glibc discards it), and
/// when the last idle worker ends the server has been quiet for `idle_exit`, so it also hands the
/// heap's free pages back (malloc_trim). Thread-safe.
class WorkerPool final : public httplib::TaskQueue {
  // httplib 0.11 declares `void enqueue`, later versions `bool enqueue` (false = refused).
  using EnqueueResult = decltype(std::declval<httplib::TaskQueue&>().enqueue(std::function<void()>{}));

 public:
  /// `must_wait` is called (without the pool's lock) when a task has to wait because every worker
  /// is taken: the server then closes an idle kept-alive connection to free one.
  WorkerPool(std::size_t max_threads, std::chrono::milliseconds idle_exit, std::function<void()> must_wait = {});
  /// Finishes the queued connections and waits for every worker (shutdown()).
  ~WorkerPool() override;
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Runs `task` on an idle worker, a new one, or (at the cap) the first to free up. Refused
  /// after shutdown() (false for httplib >= 0.15, which then closes the connection itself).
  EnqueueResult enqueue(std::function<void()> task) override {
    return static_cast<EnqueueResult>(add(std::move(task)));
  }

  /// Refuses new tasks, lets the workers finish the queued ones, and waits until every worker ended.
  void shutdown() override;

  struct Counts {
    std::size_t threads = 0;  ///< workers alive (busy + idle)
    std::size_t idle = 0;     ///< workers waiting for a task
    std::size_t queued = 0;   ///< tasks waiting for a worker
    std::size_t trims = 0;    ///< times the last idle worker handed memory back
  };
  [[nodiscard]] Counts counts();

 private:
  bool add(std::function<void()> task);
  void work();

  const std::size_t m_max_threads;
  const std::chrono::milliseconds m_idle_exit;
  const std::function<void()> m_must_wait;
  std::mutex m_mutex;
  std::condition_variable m_task_ready;
  std::condition_variable m_worker_ended;
  std::deque<std::function<void()>> m_tasks;
  Counts m_counts;
  bool m_stopping = false;
};

}  // namespace http
