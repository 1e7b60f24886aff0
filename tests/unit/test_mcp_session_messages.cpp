#include <catch2/catch.hpp>
#include <condition_variable>
#include <future>
#include <mutex>

#include "mcp/session_messages.hpp"

using mcp::json;

namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() {
    tools.add({"echo", "", "", json{{"type", "object"}}, nullptr, nullptr},
              [](const json& arguments, mcp::ToolContext&) -> core::Result<json> {
                return json{{"content", json::array({json{{"type", "text"}, {"text", arguments.dump()}}})}};
              });
  }

  std::optional<json> body(mcp::Session& session, const std::string& text,
                           mcp::CancelledReplies cancelled = mcp::CancelledReplies::send) {
    return mcp::handle_session_body(dispatcher, session, json::parse(text), {}, cancelled);
  }

  void initialize(mcp::Session& session, const std::string& version) {
    const json init{{"jsonrpc", "2.0"},
                    {"id", 0},
                    {"method", "initialize"},
                    {"params", json{{"protocolVersion", version},
                                    {"capabilities", json::object()},
                                    {"clientInfo", json{{"name", "t"}, {"version", "1"}}}}}};
    REQUIRE(mcp::handle_session_body(dispatcher, session, init, {}, mcp::CancelledReplies::send));
  }

  mcp::ToolRegistry tools;
  mcp::Dispatcher dispatcher{tools, mcp::ServerInfo{"mcp-sandbox", "1", ""}};
};

}  // namespace

TEST_CASE("a single request is answered and a notification is not") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-06-18");
  const auto reply = fixture.body(session, R"({"jsonrpc":"2.0","id":"p","method":"ping"})");
  REQUIRE(reply);
  CHECK(*reply == json::parse(R"({"jsonrpc":"2.0","id":"p","result":{}})"));
  CHECK_FALSE(fixture.body(session, R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  CHECK_FALSE(fixture.body(session, R"({"jsonrpc":"2.0","id":4,"result":{}})"));  // a client response
  const auto invalid = fixture.body(session, R"({"jsonrpc":"2.0","id":5,"method":false})");
  REQUIRE(invalid);
  CHECK((*invalid)["error"]["code"] == -32600);
}

TEST_CASE("batches are answered in 2025-03-26, in order, without entries for notifications") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-03-26");
  const auto reply = fixture.body(session, R"([
      {"jsonrpc":"2.0","id":1,"method":"ping"},
      {"jsonrpc":"2.0","method":"notifications/initialized"},
      {"jsonrpc":"2.0","id":"two","method":"tools/call","params":{"name":"echo","arguments":{"a":1}}},
      {"jsonrpc":"2.0","id":3,"method":"nope"},
      {"jsonrpc":"1.0","id":4,"method":"ping"},
      {"jsonrpc":"2.0","id":5,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}
  ])");
  REQUIRE(reply);
  REQUIRE(reply->is_array());
  REQUIRE(reply->size() == 5);
  CHECK((*reply)[0]["id"] == 1);
  CHECK((*reply)[1]["id"] == "two");
  CHECK((*reply)[1]["result"]["content"][0]["text"] == R"({"a":1})");
  CHECK((*reply)[2]["error"]["code"] == -32601);
  CHECK((*reply)[3]["error"]["code"] == -32600);
  CHECK((*reply)[4]["error"]["code"] == -32600);  // initialize may not be batched
}

TEST_CASE("a batch of notifications only is not answered") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-03-26");
  CHECK_FALSE(fixture.body(session, R"([{"jsonrpc":"2.0","method":"notifications/initialized"},
                                        {"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":9}}])"));
}

TEST_CASE("an empty batch is one invalid request error") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-03-26");
  const auto reply = fixture.body(session, "[]");
  REQUIRE(reply);
  CHECK(reply->is_object());
  CHECK((*reply)["error"]["code"] == -32600);
  CHECK((*reply)["id"].is_null());
}

TEST_CASE("revisions without batches refuse them whole") {
  Fixture fixture;
  for (const char* version : {"2024-11-05", "2025-06-18", "2025-11-25"}) {
    CAPTURE(version);
    mcp::Session session("s");
    fixture.initialize(session, version);
    const auto reply = fixture.body(session, R"([{"jsonrpc":"2.0","id":1,"method":"ping"}])");
    REQUIRE(reply);
    CHECK(reply->is_object());
    CHECK((*reply)["error"]["code"] == -32600);
    CHECK((*reply)["id"].is_null());
  }
}

TEST_CASE("an id still running is refused for a second request") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-06-18");
  std::promise<void> started;
  std::promise<void> release;
  auto released = release.get_future().share();
  fixture.tools.add({"wait", "", "", json{{"type", "object"}}, nullptr, nullptr},
                    [&, released](const json&, mcp::ToolContext&) -> core::Result<json> {
                      started.set_value();
                      released.wait_for(10s);
                      return json{{"content", json::array()}};
                    });
  auto first = std::async(std::launch::async, [&] {
    return fixture.body(session, R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"wait"}})");
  });
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  const auto second = fixture.body(session, R"({"jsonrpc":"2.0","id":7,"method":"ping"})");
  release.set_value();
  REQUIRE(second);
  CHECK((*second)["error"]["code"] == -32600);
  CHECK((*second)["id"] == 7);
  CHECK(first.get()->contains("result"));
}

TEST_CASE("the answer to a cancelled request is dropped where the transport allows it") {
  Fixture fixture;
  mcp::Session session("s");
  fixture.initialize(session, "2025-06-18");
  std::promise<void> started;
  fixture.tools.add({"block", "", "", json{{"type", "object"}}, nullptr, nullptr},
                    [&](const json&, mcp::ToolContext& context) -> core::Result<json> {
                      std::mutex mutex;
                      std::condition_variable_any woken;
                      std::unique_lock lock(mutex);
                      started.set_value();
                      woken.wait_for(lock, context.cancelled, 10s, [] { return false; });
                      return json{{"content", json::array()}};
                    });
  auto reply = std::async(std::launch::async, [&] {
    return fixture.body(session, R"({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"block"}})",
                        mcp::CancelledReplies::drop);
  });
  REQUIRE(started.get_future().wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(
      fixture.body(session, R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x"}})"));
  CHECK_FALSE(reply.get());
}
