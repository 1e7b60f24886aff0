#include <catch2/catch.hpp>

#include "mcp/session.hpp"

using nlohmann::json;

TEST_CASE("a session tracks its running requests by exact id") {
  mcp::Session session("abc");
  const auto number = session.begin_request(1);
  REQUIRE(number);
  CHECK_FALSE(session.begin_request(1));  // still running
  const auto text = session.begin_request("1");
  REQUIRE(text);  // "1" is another id than 1
  CHECK(session.cancel_request(1));
  CHECK(number->stop_requested());
  CHECK_FALSE(text->stop_requested());
  CHECK(session.end_request(1));  // it was cancelled
  CHECK_FALSE(session.end_request("1"));
  CHECK_FALSE(session.cancel_request(1));  // no longer running
  CHECK(session.begin_request(1));         // the id is free again
}

TEST_CASE("closing a session stops every request and refuses new ones") {
  mcp::Session session("abc");
  const auto first = session.begin_request("a");
  const auto second = session.begin_request("b");
  REQUIRE(first);
  REQUIRE(second);
  session.close();
  CHECK(session.closed());
  CHECK(first->stop_requested());
  CHECK(second->stop_requested());
  CHECK_FALSE(session.begin_request("c"));
}

TEST_CASE("a session remembers what initialize and logging/setLevel set") {
  mcp::Session session("abc", "2025-03-26");
  CHECK(session.protocol_version() == "2025-03-26");
  CHECK_FALSE(session.negotiated());
  CHECK_FALSE(session.log_level());
  session.set_negotiated("2025-06-18", "claude");
  session.set_log_level(mcp::LogLevel::error);
  CHECK(session.negotiated());
  CHECK(session.protocol_version() == "2025-06-18");
  CHECK(session.client_name() == "claude");
  CHECK(session.log_level() == mcp::LogLevel::error);
}
