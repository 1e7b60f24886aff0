#include <catch2/catch.hpp>

#include "runner/tracked_containers.hpp"

TEST_CASE("a run id is tracked exactly as long as its ticket lives", "[tracked]") {
  runner::TrackedContainers tracked;
  {
    auto ticket = tracked.track("abc");
    CHECK(tracked.contains("abc"));
    CHECK(ticket.run_id() == "abc");
    auto moved = std::move(ticket);
    CHECK(tracked.contains("abc"));
    CHECK(tracked.size() == 1);
  }
  CHECK_FALSE(tracked.contains("abc"));
  CHECK(tracked.size() == 0);
}

TEST_CASE("reassigning a ticket releases the id it held", "[tracked]") {
  runner::TrackedContainers tracked;
  auto ticket = tracked.track("first");
  ticket = tracked.track("second");
  CHECK_FALSE(tracked.contains("first"));
  CHECK(tracked.contains("second"));
}

TEST_CASE("the same id tracked twice stays until both tickets are gone", "[tracked]") {
  runner::TrackedContainers tracked;
  auto one = tracked.track("same");
  {
    auto two = tracked.track("same");
  }
  CHECK(tracked.contains("same"));
}
