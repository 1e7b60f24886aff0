#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "mcp/resources.hpp"
#include "transport/session_store.hpp"
#include "transport_fixture.hpp"

using namespace test_http;

namespace {

// Resources named test://<anything>; reading is not what these tests are about.
class FakeResources : public mcp::ResourceProvider {
 public:
  tl::expected<json, mcp::RpcError> list(const mcp::ResourceScope& scope, const std::string&) const override {
    return json{{"resources", json::array({json{{"uri", "test://" + scope.caller}, {"name", "caller"}}})}};
  }
  tl::expected<json, mcp::RpcError> read(const mcp::ResourceScope&, const std::string& uri) const override {
    return json{{"contents", json::array({json{{"uri", uri}, {"text", "x"}}})}};
  }
  json templates(const mcp::Revision&) const override { return json::array(); }
  std::string check_uri(const std::string& uri) const override {
    return uri.starts_with("test://") ? "" : "not a test URI";
  }
};

const std::string kOtherToken = "other-token-0123456789abcdefghijklmnopqrstuv";

// A server with resources whose tool "touch" announces that it changed `uri`, as the caller it ran for.
struct ResourceServer {
  ResourceServer() : server(options()) {}

  transport::McpEndpointOptions options() {
    auto made = test_options();
    made.api_tokens.push_back(kOtherToken);
    made.resources = mcp::ResourceSupport{&provider, &events};
    return made;
  }

  FakeResources provider;
  mcp::ResourceEvents events;
  McpServer server;
};

void add_touch_tool(ResourceServer& resources) {
  resources.server.tools.add({"touch", "", "", json{{"type", "object"}}, nullptr, nullptr},
                             [&events = resources.events](const json& arguments, mcp::ToolContext& context)
                                 -> core::Result<json> {
                               events.publish(mcp::ResourceChange{context.caller, {arguments.value("uri", "")}, true});
                               return json{{"content", json::array({json{{"type", "text"}, {"text", context.caller}}})}};
                             });
}

httplib::Headers stream_headers(const std::string& session, const std::string& token = kToken) {
  return {{"Authorization", "Bearer " + token}, {"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}};
}

json call(httplib::Client& client, const std::string& session, const json& id, const std::string& method, json params) {
  const auto result = client.Post("/mcp", session_headers(session), request(id, method, std::move(params)).dump(),
                                  "application/json");
  if (!result) throw std::runtime_error("POST failed");
  return final_message(result);
}

}  // namespace

TEST_CASE("GET /mcp opens the session's stream: its subscriptions and its caller's list changes arrive there") {
  ResourceServer resources;
  add_touch_tool(resources);
  auto client = resources.server.client();
  const std::string session = open_session(client);
  SseReader stream(resources.server.port(), "/mcp", stream_headers(session));
  REQUIRE(stream.status() == 200);
  // The stream is registered once the response head is out; subscribe, then change the file.
  CHECK(call(client, session, 1, "resources/subscribe", json{{"uri", "test://a.csv"}}).contains("result"));
  const json touched = call(client, session, 2, "tools/call", json{{"name", "touch"}, {"arguments", {{"uri", "test://a.csv"}}}});
  const std::string caller = touched["result"]["content"][0]["text"];
  CHECK(caller.starts_with("token:"));
  CHECK(caller.size() == 6 + 16);  // the token's id, never the token
  REQUIRE(stream.wait_for("notifications/resources/list_changed"));
  const auto messages = sse_messages(stream.received());
  REQUIRE(messages.size() == 2);
  CHECK(messages[0] == json{{"jsonrpc", "2.0"}, {"method", "notifications/resources/updated"},
                            {"params", {{"uri", "test://a.csv"}}}});
  CHECK(messages[1]["method"] == "notifications/resources/list_changed");

  // One stream per session.
  const auto second = client.Get("/mcp", stream_headers(session));
  REQUIRE(second);
  CHECK(second->status == 409);
  // Ending the session ends its stream.
  const auto removed = client.Delete("/mcp", {{"Mcp-Session-Id", session}});
  REQUIRE(removed);
  CHECK(removed->status == 200);
  CHECK(stream.wait_ended());
}

TEST_CASE("another token's session hears neither list changes nor streams of this one") {
  ResourceServer resources;
  add_touch_tool(resources);
  auto client = resources.server.client();
  const std::string mine = open_session(client);

  httplib::Client other("127.0.0.1", resources.server.port());
  other.set_default_headers({{"Authorization", "Bearer " + kOtherToken}});
  const std::string theirs = open_session(other);
  // A session id is no use with another token, for its stream as for its requests.
  const auto stolen = other.Get("/mcp", stream_headers(mine, kOtherToken));
  REQUIRE(stolen);
  CHECK(stolen->status == 404);

  SseReader their_stream(resources.server.port(), "/mcp", stream_headers(theirs, kOtherToken));
  SseReader my_stream(resources.server.port(), "/mcp", stream_headers(mine));
  REQUIRE(their_stream.status() == 200);
  REQUIRE(my_stream.status() == 200);
  call(client, mine, 1, "tools/call", json{{"name", "touch"}, {"arguments", {{"uri", "test://mine"}}}});
  REQUIRE(my_stream.wait_for("list_changed"));
  // Then one of theirs, which their stream hears: so ours would have arrived before it, had it been sent.
  call(other, theirs, 1, "tools/call", json{{"name", "touch"}, {"arguments", {{"uri", "test://theirs"}}}});
  REQUIRE(their_stream.wait_for("list_changed"));
  CHECK(sse_messages(their_stream.received()).size() == 1);
}

TEST_CASE("GET /mcp needs a live session, an SSE Accept and resources on the server") {
  ResourceServer resources;
  auto client = resources.server.client();
  const std::string session = open_session(client);
  const auto no_session = client.Get("/mcp", {{"Accept", "text/event-stream"}});
  REQUIRE(no_session);
  CHECK(no_session->status == 405);
  const auto json_only = client.Get("/mcp", {{"Accept", "application/json"}, {"Mcp-Session-Id", session}});
  REQUIRE(json_only);
  CHECK(json_only->status == 406);
  const auto ended = client.Get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", "gone"}});
  REQUIRE(ended);
  CHECK(ended->status == 404);
}

TEST_CASE("a legacy SSE session gets its resource notifications on its one stream") {
  ResourceServer resources;
  add_touch_tool(resources);
  SseReader stream(resources.server.port(), "/sse");
  const std::string marker = "event: endpoint\ndata: ";
  REQUIRE(stream.wait_for(marker));
  const std::string received = stream.received();
  const auto begin = received.find(marker) + marker.size();
  const std::string endpoint = received.substr(begin, received.find('\n', begin) - begin);
  auto client = resources.server.client();
  client.Post(endpoint, request(0, "initialize", json{{"protocolVersion", "2024-11-05"}}).dump(), "application/json");
  client.Post(endpoint, request(1, "resources/subscribe", json{{"uri", "test://x"}}).dump(), "application/json");
  REQUIRE(stream.wait_for(R"("id":1)"));
  client.Post(endpoint, request(2, "tools/call", json{{"name", "touch"}, {"arguments", {{"uri", "test://x"}}}}).dump(),
              "application/json");
  REQUIRE(stream.wait_for(R"("id":2)"));
  const auto messages = sse_messages(stream.received());
  REQUIRE(messages.size() == 5);  // initialize, subscribe, updated, list_changed, the call's answer
  CHECK(messages[2]["method"] == "notifications/resources/updated");
  CHECK(messages[3]["method"] == "notifications/resources/list_changed");
}

TEST_CASE("a session's stream counts against the stream cap and keeps the session from expiring") {
  std::chrono::steady_clock::time_point now{};
  transport::SessionStore store(10, 2, std::chrono::seconds(60), [&now] { return now; });
  REQUIRE(store.add(std::make_shared<mcp::Session>("a"), transport::SessionTransport::streamable_http, {}, "me"));
  REQUIRE(store.add(std::make_shared<mcp::Session>("b"), transport::SessionTransport::streamable_http, {}, "you"));
  REQUIRE(store.add(std::make_shared<mcp::Session>("c"), transport::SessionTransport::streamable_http, {}, "you"));
  auto first = std::make_shared<transport::SseQueue>();
  CHECK(store.attach_stream("a", "you", first) == transport::SessionStore::Attach::not_found);  // not theirs
  CHECK(store.attach_stream("a", "me", first) == transport::SessionStore::Attach::attached);
  CHECK(store.attach_stream("a", "me", std::make_shared<transport::SseQueue>()) ==
        transport::SessionStore::Attach::busy);
  CHECK(store.attach_stream("b", "you", std::make_shared<transport::SseQueue>()) ==
        transport::SessionStore::Attach::attached);
  CHECK(store.attach_stream("c", "you", std::make_shared<transport::SseQueue>()) ==
        transport::SessionStore::Attach::full);
  now += std::chrono::seconds(120);
  CHECK(store.acquire("a", transport::SessionTransport::streamable_http, "me"));  // streaming: not idle
  CHECK_FALSE(store.acquire("c", transport::SessionTransport::streamable_http, "you"));  // expired
  first->close();  // the client left
  CHECK(store.attach_stream("a", "me", std::make_shared<transport::SseQueue>()) ==
        transport::SessionStore::Attach::attached);
  CHECK(store.remove("a", transport::SessionTransport::streamable_http));
}
