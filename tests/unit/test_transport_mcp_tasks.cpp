#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>

#include "transport/mcp_tasks.hpp"

using namespace std::chrono_literals;

TEST_CASE("shutdown stops running tasks and tracked sources, then refuses work") {
  transport::McpTasks tasks;
  std::promise<void> started;
  std::atomic<bool> saw_stop{false};
  REQUIRE(tasks.spawn([&](std::stop_token stop) {
    std::mutex mutex;
    std::condition_variable_any woken;
    std::unique_lock lock(mutex);
    started.set_value();
    woken.wait_for(lock, stop, 10s, [] { return false; });
    saw_stop = stop.stop_requested();
  }));
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  std::stop_source answered_in_place;
  const auto tracked = tasks.track(answered_in_place);
  tasks.shutdown();
  CHECK(saw_stop);
  CHECK(answered_in_place.stop_requested());
  CHECK(tasks.running() == 0);
  CHECK_FALSE(tasks.spawn([](std::stop_token) {}));
  std::stop_source late;
  CHECK_FALSE(tasks.track(late));
  CHECK(late.stop_requested());
}

TEST_CASE("finished tasks are reaped") {
  transport::McpTasks tasks;
  std::promise<void> done;
  REQUIRE(tasks.spawn([&](std::stop_token) { done.set_value(); }));
  REQUIRE(done.get_future().wait_for(10s) == std::future_status::ready);
  // running() reaps what has finished; the task may still be returning, so wait for that with a deadline.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (tasks.running() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  CHECK(tasks.running() == 0);
}

TEST_CASE("a tracked source is forgotten when its handle goes") {
  transport::McpTasks tasks;
  std::stop_source source;
  { const auto handle = tasks.track(source); }
  tasks.shutdown();
  CHECK_FALSE(source.stop_requested());
}
