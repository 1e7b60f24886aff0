#include <catch2/catch.hpp>
#include <memory>

#include "transport/session_store.hpp"

using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  transport::SessionStore::Clock function() {
    return [this] { return now; };
  }
};

std::shared_ptr<mcp::Session> session(const std::string& id) { return std::make_shared<mcp::Session>(id); }

}  // namespace

TEST_CASE("sessions are found on their own transport only") {
  FakeClock clock;
  transport::SessionStore store(10, 10, 60s, clock.function());
  REQUIRE(store.add(session("a"), transport::SessionTransport::streamable_http));
  CHECK(store.acquire("a", transport::SessionTransport::streamable_http));
  CHECK_FALSE(store.acquire("a", transport::SessionTransport::legacy_sse));
  CHECK_FALSE(store.acquire("b", transport::SessionTransport::streamable_http));
  CHECK_FALSE(store.remove("a", transport::SessionTransport::legacy_sse));
  CHECK(store.size() == 1);
}

TEST_CASE("idle streamable sessions expire and ending one stops its requests") {
  FakeClock clock;
  transport::SessionStore store(10, 10, 60s, clock.function());
  auto idle = session("idle");
  const auto running = idle->begin_request(1);
  REQUIRE(store.add(idle, transport::SessionTransport::streamable_http));
  clock.now += 59s;
  CHECK(store.acquire("idle", transport::SessionTransport::streamable_http));  // and that use restarts the clock
  clock.now += 59s;
  CHECK(store.size() == 1);
  clock.now += 1s;
  CHECK(store.size() == 0);
  CHECK_FALSE(store.acquire("idle", transport::SessionTransport::streamable_http));
  CHECK(idle->closed());
  CHECK(running->stop_requested());
}

TEST_CASE("a leased session does not expire, and idleness counts from the lease's end") {
  FakeClock clock;
  transport::SessionStore store(10, 10, 60s, clock.function());
  REQUIRE(store.add(session("busy"), transport::SessionTransport::streamable_http));
  {
    auto lease = store.acquire("busy", transport::SessionTransport::streamable_http);
    REQUIRE(lease);
    clock.now += 1h;
    CHECK(store.size() == 1);
  }
  clock.now += 59s;
  CHECK(store.size() == 1);
  clock.now += 1s;
  CHECK(store.size() == 0);
}

TEST_CASE("legacy SSE sessions live until removed, which closes their stream") {
  FakeClock clock;
  transport::SessionStore store(10, 10, 60s, clock.function());
  auto events = std::make_shared<transport::SseQueue>();
  REQUIRE(store.add(session("sse"), transport::SessionTransport::legacy_sse, events));
  clock.now += 24h;
  auto lease = store.acquire("sse", transport::SessionTransport::legacy_sse);
  REQUIRE(lease);
  CHECK(lease->events() == events);
  CHECK(store.remove("sse", transport::SessionTransport::legacy_sse));
  CHECK(events->closed());
  CHECK(lease->session().closed());
}

TEST_CASE("the cap refuses new sessions until one ends") {
  FakeClock clock;
  transport::SessionStore store(2, 1, 60s, clock.function());
  CHECK(store.add(session("1"), transport::SessionTransport::streamable_http));
  CHECK(store.add(session("2"), transport::SessionTransport::legacy_sse, std::make_shared<transport::SseQueue>()));
  CHECK_FALSE(store.add(session("3"), transport::SessionTransport::streamable_http));
  CHECK(store.remove("1", transport::SessionTransport::streamable_http));
  CHECK(store.add(session("3"), transport::SessionTransport::streamable_http));
  CHECK(store.remove("3", transport::SessionTransport::streamable_http));
  // One slot is free, but the one legacy stream allowed is taken.
  CHECK_FALSE(store.add(session("4"), transport::SessionTransport::legacy_sse, std::make_shared<transport::SseQueue>()));
}

TEST_CASE("close_all ends everything and refuses new sessions") {
  FakeClock clock;
  transport::SessionStore store(10, 10, 60s, clock.function());
  auto open = session("open");
  REQUIRE(store.add(open, transport::SessionTransport::streamable_http));
  store.close_all();
  CHECK(open->closed());
  CHECK(store.size() == 0);
  CHECK_FALSE(store.add(session("late"), transport::SessionTransport::streamable_http));
}

TEST_CASE("a session belongs to the token that opened it, and one token gets three quarters of each cap") {
  FakeClock clock;
  transport::SessionStore store(8, 4, 60s, clock.function());
  using transport::SessionTransport;
  REQUIRE(store.add(session("mine"), SessionTransport::streamable_http, {}, "token-a"));
  CHECK(store.acquire("mine", SessionTransport::streamable_http, "token-a"));
  CHECK_FALSE(store.acquire("mine", SessionTransport::streamable_http, "token-b"));
  const std::string other = "token-b";
  CHECK_FALSE(store.remove("mine", SessionTransport::streamable_http, &other));
  CHECK(store.size() == 1);
  // token-a: 6 of 8 sessions at most; token-b still gets in.
  for (int i = 0; i < 5; ++i) CHECK(store.add(session("a" + std::to_string(i)), SessionTransport::streamable_http, {}, "token-a"));
  CHECK_FALSE(store.add(session("a-extra"), SessionTransport::streamable_http, {}, "token-a"));
  CHECK(store.add(session("b0"), SessionTransport::streamable_http, {}, "token-b"));
  // Streams: 3 of 4 per token.
  transport::SessionStore streams(100, 4, 60s, clock.function());
  for (int i = 0; i < 3; ++i) CHECK(streams.add(session("s" + std::to_string(i)), SessionTransport::legacy_sse, {}, "token-a"));
  CHECK_FALSE(streams.add(session("s3"), SessionTransport::legacy_sse, {}, "token-a"));
  CHECK(streams.add(session("t0"), SessionTransport::legacy_sse, {}, "token-b"));
}
