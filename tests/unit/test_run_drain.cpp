#include <catch2/catch.hpp>

#include <thread>

#include "runner/run_drain.hpp"

using Clock = std::chrono::steady_clock;

TEST_CASE("run drain counts passes and refuses new ones once closed", "[drain]") {
  runner::RunDrain drain;
  {
    auto pass = drain.enter();
    REQUIRE(pass);
    CHECK(drain.in_flight() == 1);
    drain.close();
    CHECK_FALSE(drain.enter());
    CHECK_FALSE(drain.wait_idle(Clock::now()));
  }
  CHECK(drain.in_flight() == 0);
  CHECK(drain.wait_idle(Clock::now()));
}

TEST_CASE("wait_idle returns when the last run ends, and cancel_all stops the token", "[drain]") {
  runner::RunDrain drain;
  auto pass = drain.enter();
  const auto token = drain.stop_token();
  std::thread run([&, p = std::move(*pass)]() mutable {
    // The "run" ends when shutdown cancels it.
    while (!token.stop_requested()) std::this_thread::yield();
    auto done = std::move(p);
  });
  drain.close();
  CHECK_FALSE(drain.wait_idle(Clock::now() + std::chrono::milliseconds(20)));
  drain.cancel_all();
  CHECK(drain.wait_idle(Clock::now() + std::chrono::seconds(10)));
  run.join();
}
