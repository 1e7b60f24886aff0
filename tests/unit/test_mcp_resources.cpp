#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "mcp/dispatcher.hpp"
#include "mcp/resources.hpp"
#include "mcp/session_messages.hpp"

using mcp::json;
using namespace std::chrono_literals;

namespace {

// A provider over a fixed set of URIs that records who asked.
class FakeResources : public mcp::ResourceProvider {
 public:
  tl::expected<json, mcp::RpcError> list(const mcp::ResourceScope& scope, const std::string& cursor) const override {
    const std::scoped_lock lock(mutex);
    callers.push_back(scope.caller);
    if (cursor.empty()) {
      return json{{"resources", json::array({json{{"uri", "test://a"}, {"name", "a"}}})}, {"nextCursor", "page-2"}};
    }
    if (cursor == "page-2") return json{{"resources", json::array({json{{"uri", "test://b"}, {"name", "b"}}})}};
    return tl::unexpected(mcp::RpcError{mcp::error_code::invalid_params, "Invalid params: unknown cursor", nullptr});
  }
  tl::expected<json, mcp::RpcError> read(const mcp::ResourceScope& scope, const std::string& uri) const override {
    const std::scoped_lock lock(mutex);
    callers.push_back(scope.caller);
    if (uri == "test://a") return json{{"contents", json::array({json{{"uri", uri}, {"text", "hello"}}})}};
    return tl::unexpected(mcp::RpcError{mcp::kResourceNotFound, "Resource not found", json{{"uri", uri}}});
  }
  json templates(const mcp::Revision&) const override {
    return json::array({json{{"uriTemplate", "test://{name}"}, {"name", "file"}}});
  }
  std::string check_uri(const std::string& uri) const override {
    return uri.starts_with("test://") ? "" : "not a test URI";
  }

  mutable std::mutex mutex;
  mutable std::vector<std::string> callers;
};

struct Harness {
  json session_call(mcp::Session& session, const json& id, const std::string& method, json params = json::object()) {
    return mcp::answer_in_session(dispatcher, session, mcp::Request{id, method, std::move(params)}, notify).message;
  }
  json stateless_call(const std::string& method, json params = json::object(), const std::string& caller = "token:me") {
    mcp::RequestEnvelope envelope{"2026-07-28", nullptr, json::object(), std::nullopt};
    auto context = mcp::Dispatcher::stateless_context(envelope, {}, notify);
    context.caller = caller;
    return dispatcher.answer(mcp::Request{1, method, std::move(params)}, context);
  }
  std::unique_ptr<mcp::Session> session(const std::string& version, const std::string& caller = "token:me") {
    auto made = std::make_unique<mcp::Session>("s-" + version);
    made->set_caller(caller);
    session_call(*made, 0, "initialize",
                 json{{"protocolVersion", version}, {"capabilities", json::object()},
                      {"clientInfo", json{{"name", "t"}, {"version", "1"}}}});
    return made;
  }
  // Waits (bounded) until a message with `method` has been sent.
  bool wait_for(const std::string& method) {
    std::unique_lock lock(mutex);
    return arrived.wait_for(lock, 10s, [&] {
      return std::any_of(sent.begin(), sent.end(), [&](const json& message) { return message["method"] == method; });
    });
  }
  std::vector<json> sent_methods(const std::string& method) {
    const std::scoped_lock lock(mutex);
    std::vector<json> found;
    for (const auto& message : sent) {
      if (message["method"] == method) found.push_back(message);
    }
    return found;
  }

  mcp::ToolRegistry tools;
  FakeResources provider;
  mcp::ResourceEvents events;
  mcp::Dispatcher dispatcher{tools, mcp::ServerInfo{"mcp-sandbox", "1", ""}, mcp::ResourceSupport{&provider, &events}};
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<json> sent;
  mcp::Outbound notify = [this](const json& message) {
    {
      const std::scoped_lock lock(mutex);
      sent.push_back(message);
    }
    arrived.notify_all();
  };
};

int error_code_of(const json& response) { return response.at("error").at("code").get<int>(); }

}  // namespace

TEST_CASE("a server with resources declares the capability, with subscribe and listChanged only given events") {
  Harness harness;
  auto session = harness.session("2025-06-18");
  const json init = harness.session_call(*session, 1, "initialize",
                                         json{{"protocolVersion", "2025-06-18"}, {"capabilities", json::object()}});
  CHECK(init["result"]["capabilities"]["resources"] == json{{"subscribe", true}, {"listChanged", true}});
  CHECK(harness.stateless_call("server/discover")["result"]["capabilities"]["resources"]["listChanged"] == true);

  mcp::ToolRegistry tools;
  FakeResources provider;
  const mcp::Dispatcher quiet(tools, mcp::ServerInfo{}, mcp::ResourceSupport{&provider, nullptr});
  mcp::Session other("quiet");
  const json answer = mcp::answer_in_session(
      quiet, other, mcp::Request{1, "initialize", json{{"protocolVersion", "2025-06-18"}}}, {}).message;
  CHECK(answer["result"]["capabilities"]["resources"] == json{{"subscribe", false}, {"listChanged", false}});
  CHECK(error_code_of(mcp::answer_in_session(quiet, other, mcp::Request{2, "resources/subscribe",
                                                                        json{{"uri", "test://a"}}}, {}).message) ==
        -32601);
  CHECK(quiet.resource_events() == nullptr);
}

TEST_CASE("resources/list pages with the provider's cursors and passes who asks") {
  Harness harness;
  const auto version = GENERATE("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25");
  CAPTURE(version);
  auto session = harness.session(version, "token:abc");
  const json first = harness.session_call(*session, 1, "resources/list");
  REQUIRE(first.contains("result"));
  CHECK(first["result"]["resources"][0]["uri"] == "test://a");
  CHECK_FALSE(first["result"].contains("ttlMs"));
  const json second = harness.session_call(*session, 2, "resources/list", json{{"cursor", first["result"]["nextCursor"]}});
  CHECK(second["result"]["resources"][0]["uri"] == "test://b");
  CHECK_FALSE(second["result"].contains("nextCursor"));
  CHECK(error_code_of(harness.session_call(*session, 3, "resources/list", json{{"cursor", 7}})) == -32602);
  CHECK(error_code_of(harness.session_call(*session, 4, "resources/list", json{{"cursor", "nope"}})) == -32602);
  CHECK(harness.provider.callers.front() == "token:abc");
}

TEST_CASE("2026-07-28 resource results say they are private and not to be cached") {
  Harness harness;
  const json list = harness.stateless_call("resources/list");
  CHECK(list["result"]["ttlMs"] == 0);
  CHECK(list["result"]["cacheScope"] == "private");
  CHECK(list["result"]["resultType"] == "complete");
  const json read = harness.stateless_call("resources/read", json{{"uri", "test://a"}});
  CHECK(read["result"]["contents"][0]["text"] == "hello");
  CHECK(read["result"]["cacheScope"] == "private");
  const json templates = harness.stateless_call("resources/templates/list");
  CHECK(templates["result"]["resourceTemplates"][0]["uriTemplate"] == "test://{name}");
  CHECK(templates["result"]["cacheScope"] == "public");
  CHECK(harness.provider.callers.front() == "token:me");
  // Subscribing is subscriptions/listen's job in this revision.
  CHECK(error_code_of(harness.stateless_call("resources/subscribe", json{{"uri", "test://a"}})) == -32601);
}

TEST_CASE("resources/read and templates/list check their params; the provider's errors pass through") {
  Harness harness;
  auto session = harness.session("2025-11-25");
  CHECK(error_code_of(harness.session_call(*session, 1, "resources/read")) == -32602);
  CHECK(error_code_of(harness.session_call(*session, 2, "resources/read", json{{"uri", 5}})) == -32602);
  const json missing = harness.session_call(*session, 3, "resources/read", json{{"uri", "test://zzz"}});
  CHECK(error_code_of(missing) == -32002);
  CHECK(missing["error"]["data"]["uri"] == "test://zzz");
  CHECK(error_code_of(harness.session_call(*session, 4, "resources/templates/list", json{{"cursor", "x"}})) == -32602);
  CHECK(harness.session_call(*session, 5, "resources/templates/list")["result"]["resourceTemplates"].size() == 1);
}

TEST_CASE("resources/subscribe keeps what a session wants to hear about; unsubscribe forgets it") {
  Harness harness;
  auto session = harness.session("2025-06-18", "token:me");
  CHECK(error_code_of(harness.session_call(*session, 1, "resources/subscribe", json{{"uri", "elsewhere://x"}})) ==
        -32602);
  CHECK(harness.session_call(*session, 2, "resources/subscribe", json{{"uri", "test://a"}}).contains("result"));
  mcp::ResourceChange change{"token:other", {"test://a", "test://b", "test://a"}, true};
  auto notifications = mcp::resource_notifications(change, session->resource_filter());
  // Only the subscribed URI, once; another identity's list change is not this session's.
  REQUIRE(notifications.size() == 1);
  CHECK(notifications[0] == json{{"jsonrpc", "2.0"},
                                 {"method", "notifications/resources/updated"},
                                 {"params", json{{"uri", "test://a"}}}});
  change.caller = "token:me";
  notifications = mcp::resource_notifications(change, session->resource_filter());
  REQUIRE(notifications.size() == 2);
  CHECK(notifications[1]["method"] == "notifications/resources/list_changed");
  CHECK(harness.session_call(*session, 3, "resources/unsubscribe", json{{"uri", "test://a"}}).contains("result"));
  CHECK(mcp::resource_notifications(mcp::ResourceChange{"token:x", {"test://a"}, false}, session->resource_filter())
            .empty());
}

TEST_CASE("a session's subscriptions are bounded") {
  mcp::Session session("s");
  for (std::size_t i = 0; i < mcp::Session::kMaxResourceSubscriptions; ++i) {
    REQUIRE(session.subscribe_resource("test://" + std::to_string(i)));
  }
  CHECK_FALSE(session.subscribe_resource("test://one-more"));
  CHECK(session.subscribe_resource("test://0"));  // already there: not one more
}

TEST_CASE("subscriptions/listen honours resource filters and stamps each notification with its id") {
  Harness harness;
  std::stop_source stop;
  mcp::RequestEnvelope envelope{"2026-07-28", nullptr, json::object(), std::nullopt};
  const json filter{{"toolsListChanged", true},
                    {"resourcesListChanged", true},
                    {"resourceSubscriptions", json::array({"test://a"})}};
  auto reply = std::async(std::launch::async, [&] {
    auto context = mcp::Dispatcher::stateless_context(envelope, stop.get_token(), harness.notify);
    context.caller = "token:me";
    return harness.dispatcher.answer(mcp::Request{"listen:1", "subscriptions/listen", json{{"notifications", filter}}},
                                     context);
  });
  // The acknowledgement comes once the listener is registered.
  REQUIRE(harness.wait_for("notifications/subscriptions/acknowledged"));
  REQUIRE(harness.events.size() == 1);
  const auto acknowledged = harness.sent_methods("notifications/subscriptions/acknowledged");
  REQUIRE(acknowledged.size() == 1);
  CHECK(acknowledged[0]["params"]["notifications"] ==
        json{{"resourcesListChanged", true}, {"resourceSubscriptions", json::array({"test://a"})}});
  CHECK(acknowledged[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen:1");

  harness.events.publish(mcp::ResourceChange{"token:other", {"test://b"}, true});  // nothing of ours
  harness.events.publish(mcp::ResourceChange{"token:me", {"test://a"}, true});
  stop.request_stop();
  CHECK(reply.get()["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen:1");
  CHECK(harness.events.size() == 0);  // the listener went with the stream
  const auto updated = harness.sent_methods("notifications/resources/updated");
  REQUIRE(updated.size() == 1);
  CHECK(updated[0]["params"]["uri"] == "test://a");
  CHECK(updated[0]["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"] == "listen:1");
  CHECK(harness.sent_methods("notifications/resources/list_changed").size() == 1);

  CHECK(error_code_of(harness.stateless_call(
            "subscriptions/listen", json{{"notifications", json{{"resourceSubscriptions", json::array({"bad://x"})}}}})) ==
        -32602);
  CHECK(error_code_of(harness.stateless_call(
            "subscriptions/listen", json{{"notifications", json{{"resourcesListChanged", "yes"}}}})) == -32602);
}

TEST_CASE("resource events stop reaching a listener once its subscription is gone") {
  mcp::ResourceEvents events;
  int heard = 0;
  auto subscription = events.subscribe([&](const mcp::ResourceChange&) { ++heard; });
  events.publish(mcp::ResourceChange{"c", {"u"}, false});
  events.publish(mcp::ResourceChange{"c", {}, false});  // says nothing: not published
  CHECK(heard == 1);
  auto moved = std::move(subscription);
  events.publish(mcp::ResourceChange{"c", {}, true});
  CHECK(heard == 2);
  moved.reset();
  events.publish(mcp::ResourceChange{"c", {"u"}, true});
  CHECK(heard == 2);
  CHECK(events.size() == 0);
}

TEST_CASE("resource_link blocks reach only the revisions that have them") {
  Harness harness;
  harness.tools.add({"linker", "", "", json{{"type", "object"}}, nullptr, nullptr},
                    [](const json&, mcp::ToolContext& context) -> core::Result<json> {
                      return json{{"content", json::array({json{{"type", "text"}, {"text", context.caller}},
                                                           json{{"type", "resource_link"},
                                                                {"uri", "test://a"},
                                                                {"name", "a"}}})}};
                    });
  const auto [version, links] = GENERATE(table<const char*, bool>(
      {{"2024-11-05", false}, {"2025-03-26", false}, {"2025-06-18", true}, {"2025-11-25", true}}));
  CAPTURE(version);
  auto session = harness.session(version, "token:linker");
  const json result = harness.session_call(*session, 1, "tools/call", json{{"name", "linker"}})["result"];
  CHECK(result["content"].size() == (links ? 2U : 1U));
  CHECK(result["content"][0]["text"] == "token:linker");  // the session's caller reaches the tool
  const json stateless =
      harness.stateless_call("tools/call", json{{"name", "linker"}}, "token:stateless")["result"];
  CHECK(stateless["content"].size() == 2);
  CHECK(stateless["content"][0]["text"] == "token:stateless");
}
