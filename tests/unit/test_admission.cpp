#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "runner/admission.hpp"

using runner::Admission;
using runner::AdmissionLimits;
using runner::AdmissionQueue;
using namespace std::chrono_literals;

namespace {

const AdmissionQueue::Clock::time_point t0{};

AdmissionLimits limits(std::size_t running, std::size_t queued, std::chrono::milliseconds timeout = 30s) {
  return AdmissionLimits{running, queued, timeout};
}

}  // namespace

TEST_CASE("admission queue: runs up to the limit at once, then queues, then refuses", "[admission]") {
  AdmissionQueue queue(limits(2, 1));
  const auto a = queue.enter("a", t0);
  const auto b = queue.enter("b", t0);
  const auto c = queue.enter("c", t0);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(c);
  CHECK(queue.admitted(*a));
  CHECK(queue.admitted(*b));
  CHECK_FALSE(queue.admitted(*c));
  CHECK(queue.running() == 2);
  CHECK(queue.queued() == 1);
  CHECK_FALSE(queue.enter("d", t0));  // the queue is full: refused, nothing changes
  CHECK(queue.queued() == 1);

  queue.leave(*a, t0 + 1s);
  CHECK(queue.admitted(*c));
  CHECK(queue.running() == 2);
  CHECK(queue.queued() == 0);
}

TEST_CASE("admission queue: two runs of one conversation never hold slots together", "[admission]") {
  AdmissionQueue queue(limits(4, 4));
  const auto first = queue.enter("same", t0);
  const auto second = queue.enter("same", t0);
  const auto other = queue.enter("other", t0);
  CHECK(queue.admitted(*first));
  CHECK_FALSE(queue.admitted(*second));  // free slots, but its conversation is running
  CHECK(queue.admitted(*other));         // and it does not hold up other conversations
  CHECK(queue.conversation_running("same"));

  queue.leave(*first, t0 + 1s);
  CHECK(queue.admitted(*second));
}

TEST_CASE("admission queue: a conversation's later run cannot overtake its earlier waiter", "[admission]") {
  AdmissionQueue queue(limits(1, 4));
  const auto busy = queue.enter("x", t0);
  const auto first = queue.enter("same", t0);
  queue.leave(*busy, t0);
  REQUIRE(queue.admitted(*first));
  const auto second = queue.enter("same", t0);
  const auto third = queue.enter("same", t0);
  queue.leave(*first, t0);
  CHECK(queue.admitted(*second));
  CHECK_FALSE(queue.admitted(*third));
}

TEST_CASE("admission queue: waiters are admitted in arrival order", "[admission]") {
  AdmissionQueue queue(limits(1, 3));
  const auto running = queue.enter("r", t0);
  const auto w1 = queue.enter("w1", t0);
  const auto w2 = queue.enter("w2", t0);
  queue.leave(*running, t0);
  CHECK(queue.admitted(*w1));
  CHECK_FALSE(queue.admitted(*w2));
  queue.leave(*w2, t0);  // a waiter that gives up leaves the queue without taking a slot
  CHECK(queue.queued() == 0);
  CHECK(queue.running() == 1);
}

TEST_CASE("admission queue: with no queue a full server refuses at once", "[admission]") {
  AdmissionQueue queue(limits(1, 0));
  const auto a = queue.enter("a", t0);
  CHECK(a);
  CHECK_FALSE(queue.enter("b", t0));
  CHECK_FALSE(queue.enter("a", t0));
}

TEST_CASE("admission queue: the retry hint follows how long runs held their slot", "[admission]") {
  AdmissionQueue queue(limits(2, 10));
  CHECK(queue.retry_after() == 1s);  // nothing measured yet: the floor
  for (int i = 0; i < 20; ++i) {
    const auto ticket = queue.enter("c", t0);
    queue.leave(*ticket, t0 + 10s);
  }
  // ~10 s per run, two slots, the caller is first in line: about half a run's time.
  CHECK(queue.retry_after() >= 4s);
  CHECK(queue.retry_after() <= 6s);
  for (int i = 0; i < 2; ++i) queue.enter("running" + std::to_string(i), t0);
  for (int i = 0; i < 4; ++i) queue.enter("queued" + std::to_string(i), t0);
  // Four ahead plus this caller over two slots: two and a half runs' time.
  CHECK(queue.retry_after() >= 24s);
  CHECK(queue.retry_after() <= 26s);
}

TEST_CASE("default run limit: cores divided by each run's CPU share", "[admission]") {
  CHECK(runner::default_max_running(2, 0.5) == 4);
  CHECK(runner::default_max_running(8, 0.5) == 16);
  CHECK(runner::default_max_running(2, 4.0) == 1);
  CHECK(runner::default_max_running(0, 0.5) == 1);
}

TEST_CASE("admission: a full queue answers busy with counts and a retry hint", "[admission]") {
  std::vector<std::string> rejected;
  Admission admission(limits(1, 0), Admission::Observer{{}, [&](std::string_view reason) {
                                                          rejected.emplace_back(reason);
                                                        }});
  auto held = admission.acquire("a", {});
  REQUIRE(held);
  auto refused = admission.acquire("b", {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == core::ErrorKind::unavailable);
  CHECK(refused.error().message == "busy: 1 running, 0 queued; retry after 1 s");
  CHECK(rejected == std::vector<std::string>{"queue_full"});
}

TEST_CASE("admission: the queue deadline ends a wait with busy", "[admission]") {
  Admission admission(limits(1, 4, 0ms));  // a zero deadline: the wait is over as soon as it starts
  auto held = admission.acquire("a", {});
  REQUIRE(held);
  bool queued = false;
  auto late = admission.acquire("b", {}, [&](const runner::AdmissionCounts&) { queued = true; });
  CHECK(queued);
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == core::ErrorKind::unavailable);
  CHECK_THAT(late.error().message, Catch::StartsWith("busy: waited 0 s for a free run slot; 1 running, 0 queued"));
  auto same = admission.acquire("a", {});
  REQUIRE_FALSE(same);
  CHECK_THAT(same.error().message, Catch::StartsWith("busy: another run of this conversation is still running"));
  CHECK(admission.counts().queued == 0);
}

TEST_CASE("admission: releasing a slot lets the next waiter in", "[admission]") {
  std::vector<runner::AdmissionCounts> seen;
  std::mutex seen_mutex;
  Admission admission(limits(1, 4, 60s), Admission::Observer{[&](const runner::AdmissionCounts& counts) {
                                                                  std::lock_guard lock(seen_mutex);
                                                                  seen.push_back(counts);
                                                                },
                                                                {}});
  std::optional<Admission::Slot> held;
  held.emplace(*admission.acquire("a", {}));
  std::promise<void> waiting;
  auto waiter = std::async(std::launch::async, [&] {
    return admission.acquire("b", {}, [&](const runner::AdmissionCounts&) { waiting.set_value(); }).has_value();
  });
  waiting.get_future().wait();
  CHECK(admission.counts().queued == 1);
  held.reset();
  CHECK(waiter.get());
  CHECK(admission.counts().running == 0);  // the waiter's slot was released when its result was dropped
  std::lock_guard lock(seen_mutex);
  REQUIRE_FALSE(seen.empty());
  CHECK(std::any_of(seen.begin(), seen.end(), [](const auto& counts) { return counts.queued == 1; }));
  CHECK(seen.back().running == 0);
  CHECK(seen.back().queued == 0);
}

TEST_CASE("admission: cancelling a waiter releases it at once", "[admission]") {
  Admission admission(limits(1, 4, 3600s));
  auto held = admission.acquire("a", {});
  REQUIRE(held);
  std::stop_source cancel;
  std::promise<void> waiting;
  auto waiter = std::async(std::launch::async, [&] {
    return admission.acquire("b", cancel.get_token(), [&](const runner::AdmissionCounts&) { waiting.set_value(); });
  });
  waiting.get_future().wait();
  cancel.request_stop();
  auto result = waiter.get();  // an hour-long deadline: only the cancellation can end this wait
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == core::ErrorKind::timeout);
  CHECK(admission.counts().queued == 0);
  CHECK(admission.counts().running == 1);
}

TEST_CASE("admission: a caller already cancelled does not wait", "[admission]") {
  Admission admission(limits(1, 4, 3600s));
  auto held = admission.acquire("a", {});
  std::stop_source cancel;
  cancel.request_stop();
  auto result = admission.acquire("b", cancel.get_token());
  REQUIRE_FALSE(result);
  CHECK(result.error().kind == core::ErrorKind::timeout);
}
