#include <catch2/catch.hpp>
#include <thread>

#include "transport/sse_stream.hpp"

using namespace std::chrono_literals;

TEST_CASE("events and comments are framed as text/event-stream") {
  CHECK(transport::sse_event("{\"a\":1}") == "event: message\ndata: {\"a\":1}\n\n");
  CHECK(transport::sse_event("/messages?sessionId=ab", "endpoint") == "event: endpoint\ndata: /messages?sessionId=ab\n\n");
  CHECK(transport::sse_event("one\ntwo") == "event: message\ndata: one\ndata: two\n\n");
  CHECK(transport::sse_comment("keep-alive") == ": keep-alive\n\n");
}

TEST_CASE("the queue hands frames over in order and drains before reporting closed") {
  transport::SseQueue queue;
  std::string frame;
  CHECK(queue.next(frame, 0ms) == transport::SseQueue::Next::idle);
  CHECK(queue.push("a"));
  CHECK(queue.push("b"));
  queue.close();
  CHECK_FALSE(queue.push("c"));
  CHECK(queue.closed());
  REQUIRE(queue.next(frame, 0ms) == transport::SseQueue::Next::frame);
  CHECK(frame == "a");
  REQUIRE(queue.next(frame, 0ms) == transport::SseQueue::Next::frame);
  CHECK(frame == "b");
  CHECK(queue.next(frame, 0ms) == transport::SseQueue::Next::closed);
}

TEST_CASE("a waiting reader wakes up for a frame pushed from another thread") {
  transport::SseQueue queue;
  std::jthread producer([&] { queue.push("late"); });
  std::string frame;
  CHECK(queue.next(frame, 10s) == transport::SseQueue::Next::frame);
  CHECK(frame == "late");
}
