#include "http/worker_pool.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <thread>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace http {

namespace {

// Gives the free pages of every malloc arena back to the kernel. glibc only returns the top of
// the main heap by itself; the rest (per-thread arenas, holes between live chunks) stays resident.
void return_free_heap_pages() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

}  // namespace

WorkerPool::WorkerPool(std::size_t max_threads, std::chrono::milliseconds idle_exit, std::function<void()> must_wait)
    : m_max_threads(max_threads == 0 ? 1 : max_threads), m_idle_exit(idle_exit), m_must_wait(std::move(must_wait)) {}

WorkerPool::~WorkerPool() { shutdown(); }

bool WorkerPool::add(std::function<void()> task) {
  std::unique_lock lock(m_mutex);
  if (m_stopping) return false;
  m_tasks.push_back(std::move(task));
  // A task still queued is already promised to an idle worker that has been woken.
  if (m_counts.idle >= m_tasks.size()) {
    m_task_ready.notify_one();
    return true;
  }
  if (m_counts.threads >= m_max_threads) {
    m_task_ready.notify_one();
    lock.unlock();
    if (m_must_wait) m_must_wait();
    return true;
  }
  ++m_counts.threads;
  try {
    std::thread([this] { work(); }).detach();
  } catch (const std::system_error& error) {
    // No thread now (EAGAIN under a pids limit). With a worker running, the task waits for it;
    // with none, the caller (the accepting thread) serves it: slower, but never a dropped or
    // forever-queued connection (httplib 0.11 cannot be told that a task was refused).
    --m_counts.threads;
    spdlog::warn("http: cannot start a worker thread ({}); {} running", error.what(), m_counts.threads);
    if (m_counts.threads == 0) {
      auto orphan = std::move(m_tasks.back());
      m_tasks.pop_back();
      lock.unlock();
      orphan();
    }
  }
  return true;
}

void WorkerPool::work() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_tasks.empty()) {
      if (m_stopping) break;
      ++m_counts.idle;
      const bool woken = m_task_ready.wait_for(lock, m_idle_exit, [this] { return !m_tasks.empty() || m_stopping; });
      --m_counts.idle;
      if (!woken) {
        // Quiet for idle_exit. The last idle worker to leave also trims the heap: the server is
        // quiet, and a trim costs a walk of the free lists, so it is done once, not per worker.
        if (m_counts.idle == 0) {
          ++m_counts.trims;
          lock.unlock();
          return_free_heap_pages();
          lock.lock();
        }
        if (m_tasks.empty()) break;
      }
      continue;
    }
    auto task = std::move(m_tasks.front());
    m_tasks.pop_front();
    lock.unlock();
    task();
    task = nullptr;  // the connection's captures go before the worker waits again
    lock.lock();
  }
  // Last touch of the pool: shutdown() waits for this under the same mutex.
  --m_counts.threads;
  m_worker_ended.notify_all();
}

void WorkerPool::shutdown() {
  std::unique_lock lock(m_mutex);
  m_stopping = true;
  m_task_ready.notify_all();
  m_worker_ended.wait(lock, [this] { return m_counts.threads == 0; });
}

WorkerPool::Counts WorkerPool::counts() {
  std::scoped_lock lock(m_mutex);
  Counts counts = m_counts;
  counts.queued = m_tasks.size();
  return counts;
}

}  // namespace http
