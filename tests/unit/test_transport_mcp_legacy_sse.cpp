#include <catch2/catch.hpp>

#include "transport_fixture.hpp"

using namespace test_http;

namespace {

// A 2024-11-05 client: its open stream and the endpoint the stream's first event named.
struct LegacyClient {
  explicit LegacyClient(McpServer& server, const char* path = "/sse")
      : stream(server.port(), path), client(server.client()) {
    const std::string marker = "event: endpoint\ndata: ";
    if (!stream.wait_for(marker)) throw std::runtime_error("no endpoint event");
    const std::string received = stream.received();
    const auto begin = received.find(marker) + marker.size();
    endpoint = received.substr(begin, received.find('\n', begin) - begin);
  }

  httplib::Result post(const json& message) { return client.Post(endpoint, message.dump(), "application/json"); }

  void initialize(const std::string& version) {
    const auto result = post(request("init", "initialize",
                                     json{{"protocolVersion", version},
                                          {"capabilities", json::object()},
                                          {"clientInfo", json{{"name", "n8n"}, {"version", "1"}}}}));
    if (!result || result->status != 202 || !stream.wait_for(R"("id":"init")")) {
      throw std::runtime_error("initialize failed");
    }
  }

  SseReader stream;
  httplib::Client client;
  std::string endpoint;
};

}  // namespace

TEST_CASE("GET /sse sends the endpoint event; POSTs get 202 and their answers arrive on the stream") {
  for (const char* path : {"/sse", "/mcp/events"}) {
    CAPTURE(path);
    McpServer server;
    LegacyClient legacy(server, path);
    CHECK(legacy.stream.status() == 200);
    CHECK(legacy.endpoint.rfind("/messages?sessionId=", 0) == 0);
    CHECK(server.endpoint().open_sessions() == 1);

    legacy.initialize("2024-11-05");
    const auto call =
        legacy.post(request(2, "tools/call", json{{"name", "echo"}, {"arguments", json{{"text", "legacy"}}}}));
    REQUIRE(call);
    CHECK(call->status == 202);
    REQUIRE(legacy.stream.wait_for("legacy"));
    const auto messages = sse_messages(legacy.stream.received());
    REQUIRE(messages.size() == 2);
    CHECK(messages[0]["result"]["protocolVersion"] == "2024-11-05");
    CHECK(messages[1]["id"] == 2);
  }
}

TEST_CASE("progress notifications go out on the legacy stream before the answer") {
  McpServer server;
  LegacyClient legacy(server);
  legacy.initialize("2025-03-26");
  legacy.post(request(2, "tools/call", json{{"name", "echo"}, {"_meta", json{{"progressToken", "t"}}}}));
  REQUIRE(legacy.stream.wait_for(R"("id":2)"));
  const auto messages = sse_messages(legacy.stream.received());
  REQUIRE(messages.size() == 5);
  CHECK(messages[1]["method"] == "notifications/progress");
  CHECK(messages[1]["params"]["message"] == "step 1");  // 2025-03-26 negotiated: messages allowed
  CHECK(messages[4]["id"] == 2);
}

TEST_CASE("POST /messages needs a live session and a JSON body") {
  McpServer server;
  auto client = server.client();
  const auto missing = client.Post("/messages", "{}", "application/json");
  REQUIRE(missing);
  CHECK(missing->status == 400);
  const auto unknown = client.Post("/messages?sessionId=nope", "{}", "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);

  LegacyClient legacy(server);
  const auto garbage = client.Post(legacy.endpoint, "{oops", "application/json");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  CHECK(json::parse(garbage->body)["error"]["code"] == -32700);
  const auto text = client.Post(legacy.endpoint, "{}", "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);
  // A legacy session id is not a Streamable HTTP one.
  const std::string id = legacy.endpoint.substr(legacy.endpoint.find('=') + 1);
  const auto crossed = client.Post("/mcp", session_headers(id), request(1, "ping").dump(), "application/json");
  REQUIRE(crossed);
  CHECK(crossed->status == 404);
}

TEST_CASE("a client that leaves drops its session and cancels its running calls") {
  McpServer server;
  LegacyClient legacy(server);
  legacy.initialize("2024-11-05");
  const auto call = legacy.post(request(2, "tools/call", json{{"name", "block"}}));
  REQUIRE(call);
  CHECK(call->status == 202);
  REQUIRE(server.blocking.wait_started());
  legacy.stream.stop();
  CHECK(server.blocking.wait_cancelled());
  const auto after = legacy.post(request(3, "ping"));
  REQUIRE(after);
  CHECK(after->status == 404);
  CHECK(server.endpoint().open_sessions() == 0);
}

TEST_CASE("notifications/cancelled on the legacy transport stops the call without an answer") {
  McpServer server;
  LegacyClient legacy(server);
  legacy.initialize("2025-06-18");
  legacy.post(request("slow", "tools/call", json{{"name", "block"}}));
  REQUIRE(server.blocking.wait_started());
  const auto cancel =
      legacy.post(json::parse(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}})"));
  REQUIRE(cancel);
  CHECK(cancel->status == 202);
  CHECK(server.blocking.wait_cancelled());
  legacy.post(request("after", "ping"));
  REQUIRE(legacy.stream.wait_for(R"("id":"after")"));
  CHECK(legacy.stream.received().find(R"("id":"slow")") == std::string::npos);
}

TEST_CASE("legacy streams beyond their cap get 503, as each holds a worker thread") {
  auto options = test_options();
  options.max_legacy_streams = 1;
  McpServer server(options);
  LegacyClient first(server);
  auto client = server.client();
  const auto second = client.Get("/sse");
  REQUIRE(second);
  CHECK(second->status == 503);
  // Streamable HTTP sessions do not count against it.
  CHECK_NOTHROW(open_session(client));
}
