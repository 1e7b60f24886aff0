#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "http/worker_pool.hpp"

using namespace std::chrono_literals;

namespace {

// Holds tasks until opened; counts how many are inside.
class Gate {
 public:
  std::function<void()> task(std::vector<int>* order = nullptr, int id = 0) {
    return [this, order, id] {
      std::unique_lock lock(m_mutex);
      ++inside;
      if (order != nullptr) order->push_back(id);
      m_changed.notify_all();
      m_changed.wait(lock, [this] { return m_open; });
      --inside;
      ++done;
      m_changed.notify_all();
    };
  }
  void open() {
    std::scoped_lock lock(m_mutex);
    m_open = true;
    m_changed.notify_all();
  }
  bool wait_until(const std::function<bool()>& condition) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 10s, condition);
  }
  int inside = 0;
  int done = 0;

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  bool m_open = false;
};

// Polls the pool (its counts change on worker threads) for up to 10 s.
bool eventually(http::WorkerPool& pool, const std::function<bool(const http::WorkerPool::Counts&)>& condition) {
  for (auto deadline = std::chrono::steady_clock::now() + 10s; std::chrono::steady_clock::now() < deadline;) {
    if (condition(pool.counts())) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

}  // namespace

TEST_CASE("worker pool: no thread until a task comes, then one per task up to the cap, then a queue") {
  http::WorkerPool pool(2, 10s);
  CHECK(pool.counts().threads == 0);
  Gate gate;
  for (int id = 1; id <= 5; ++id) pool.enqueue(gate.task());
  REQUIRE(gate.wait_until([&] { return gate.inside == 2; }));
  const auto busy = pool.counts();
  CHECK(busy.threads == 2);
  CHECK(busy.idle == 0);
  CHECK(busy.queued == 3);
  gate.open();
  REQUIRE(gate.wait_until([&] { return gate.done == 5; }));
  CHECK(pool.counts().threads == 2);  // idle, not ended: idle_exit is 10 s
}

TEST_CASE("worker pool: queued tasks are taken in arrival order") {
  // One worker: with two, the order in which tasks begin also depends on which thread the
  // scheduler runs first after each has taken its task.
  http::WorkerPool pool(1, 10s);
  Gate gate;
  std::vector<int> order;
  for (int id = 1; id <= 5; ++id) pool.enqueue(gate.task(&order, id));
  REQUIRE(gate.wait_until([&] { return gate.inside == 1; }));
  CHECK(pool.counts().queued == 4);
  gate.open();
  REQUIRE(gate.wait_until([&] { return gate.done == 5; }));
  CHECK(order == std::vector<int>{1, 2, 3, 4, 5});
}

TEST_CASE("worker pool: an idle worker takes the next task instead of a new thread") {
  http::WorkerPool pool(8, 10s);
  std::atomic<int> ran{0};
  for (int i = 0; i < 20; ++i) {
    pool.enqueue([&] { ++ran; });
    REQUIRE(eventually(pool, [&](const auto& counts) { return ran == i + 1 && counts.idle == counts.threads; }));
  }
  CHECK(pool.counts().threads == 1);
}

TEST_CASE("worker pool: workers idle for idle_exit end, the last one trims the heap once") {
  http::WorkerPool pool(4, 100ms);
  Gate gate;
  for (int i = 0; i < 3; ++i) pool.enqueue(gate.task());
  REQUIRE(gate.wait_until([&] { return gate.inside == 3; }));
  CHECK(pool.counts().threads == 3);
  gate.open();
  REQUIRE(eventually(pool, [](const auto& counts) { return counts.threads == 0; }));
  CHECK(pool.counts().trims >= 1);
  CHECK(pool.counts().trims <= 3);
  // And the pool still serves afterwards.
  std::atomic<bool> ran{false};
  pool.enqueue([&] { ran = true; });
  CHECK(eventually(pool, [&](const auto&) { return ran.load(); }));
}

TEST_CASE("worker pool: shutdown finishes queued tasks, waits for every worker, then refuses work") {
  http::WorkerPool pool(1, 10s);
  Gate gate;
  std::atomic<int> ran{0};
  pool.enqueue(gate.task());  // holds the only worker until the gate opens
  for (int i = 0; i < 3; ++i) pool.enqueue([&] { ++ran; });
  REQUIRE(gate.wait_until([&] { return gate.inside == 1; }));
  REQUIRE(pool.counts().queued == 3);

  // A refused task is dropped at once: when enqueue returns, nothing but this test holds its
  // captures, so no worker can ever run it. An accepted one stays held until it has run.
  const auto refused = [&pool, &ran] {
    auto token = std::make_shared<int>(0);
    std::weak_ptr<int> held = token;
    pool.enqueue([token = std::move(token), &ran] { ++ran; });
    return held.expired();
  };
  std::thread stopper([&pool] { pool.shutdown(); });
  // The probes accepted before shutdown() began are queued behind the gate and run as part of
  // the queue; the first refused one shows that shutdown() has begun.
  int accepted = 0;
  for (auto deadline = std::chrono::steady_clock::now() + 10s; !refused(); ++accepted) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::yield();
  }
  gate.open();
  stopper.join();
  CHECK(gate.done == 1);
  CHECK(ran == 3 + accepted);  // every queued task ran; the refused probe did not
  CHECK(pool.counts().threads == 0);
  CHECK(pool.counts().queued == 0);

  CHECK(refused());  // and after shutdown() returned
  CHECK(ran == 3 + accepted);
}
