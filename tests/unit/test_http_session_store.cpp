#include <catch2/catch.hpp>
#include <memory>

#include "http/session_store.hpp"

using namespace std::chrono_literals;

namespace {

// A clock the test moves by hand.
struct FakeClock {
  std::chrono::steady_clock::time_point now{};
  http::SessionStore::Clock function() {
    return [this] { return now; };
  }
};

std::shared_ptr<mcp::Session> session(const std::string& id) { return std::make_shared<mcp::Session>(id); }

}  // namespace

TEST_CASE("sessions are found on their own transport only") {
  FakeClock clock;
  http::SessionStore store(10, 10, 60s, clock.function());
  REQUIRE(store.add(session("a"), http::SessionTransport::streamable_http));
  CHECK(store.acquire("a", http::SessionTransport::streamable_http));
  CHECK_FALSE(store.acquire("a", http::SessionTransport::legacy_sse));
  CHECK_FALSE(store.acquire("b", http::SessionTransport::streamable_http));
  CHECK_FALSE(store.remove("a", http::SessionTransport::legacy_sse));
  CHECK(store.size() == 1);
}

TEST_CASE("idle streamable sessions expire and ending one stops its requests") {
  FakeClock clock;
  http::SessionStore store(10, 10, 60s, clock.function());
  auto idle = session("idle");
  const auto running = idle->begin_request(1);
  REQUIRE(store.add(idle, http::SessionTransport::streamable_http));
  clock.now += 59s;
  CHECK(store.acquire("idle", http::SessionTransport::streamable_http));  // and that use restarts the clock
  clock.now += 59s;
  CHECK(store.size() == 1);
  clock.now += 1s;
  CHECK(store.size() == 0);
  CHECK_FALSE(store.acquire("idle", http::SessionTransport::streamable_http));
  CHECK(idle->closed());
  CHECK(running->stop_requested());
}

TEST_CASE("a leased session does not expire, and idleness counts from the lease's end") {
  FakeClock clock;
  http::SessionStore store(10, 10, 60s, clock.function());
  REQUIRE(store.add(session("busy"), http::SessionTransport::streamable_http));
  {
    auto lease = store.acquire("busy", http::SessionTransport::streamable_http);
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
  http::SessionStore store(10, 10, 60s, clock.function());
  auto events = std::make_shared<http::SseQueue>();
  REQUIRE(store.add(session("sse"), http::SessionTransport::legacy_sse, events));
  clock.now += 24h;
  auto lease = store.acquire("sse", http::SessionTransport::legacy_sse);
  REQUIRE(lease);
  CHECK(lease->events() == events);
  CHECK(store.remove("sse", http::SessionTransport::legacy_sse));
  CHECK(events->closed());
  CHECK(lease->session().closed());
}

TEST_CASE("the cap refuses new sessions until one ends") {
  FakeClock clock;
  http::SessionStore store(2, 1, 60s, clock.function());
  CHECK(store.add(session("1"), http::SessionTransport::streamable_http));
  CHECK(store.add(session("2"), http::SessionTransport::legacy_sse, std::make_shared<http::SseQueue>()));
  CHECK_FALSE(store.add(session("3"), http::SessionTransport::streamable_http));
  CHECK(store.remove("1", http::SessionTransport::streamable_http));
  CHECK(store.add(session("3"), http::SessionTransport::streamable_http));
  CHECK(store.remove("3", http::SessionTransport::streamable_http));
  // One slot is free, but the one legacy stream allowed is taken.
  CHECK_FALSE(store.add(session("4"), http::SessionTransport::legacy_sse, std::make_shared<http::SseQueue>()));
}

TEST_CASE("close_all ends everything and refuses new sessions") {
  FakeClock clock;
  http::SessionStore store(10, 10, 60s, clock.function());
  auto open = session("open");
  REQUIRE(store.add(open, http::SessionTransport::streamable_http));
  store.close_all();
  CHECK(open->closed());
  CHECK(store.size() == 0);
  CHECK_FALSE(store.add(session("late"), http::SessionTransport::streamable_http));
}
