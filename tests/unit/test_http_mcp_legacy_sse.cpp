#include <catch2/catch.hpp>

#include "test_http_fixture.hpp"

using namespace test_http;

namespace {

// The POST path the endpoint event names, e.g. "/messages?sessionId=ab12".
std::string endpoint_path(const std::string& stream) {
  const std::string marker = "event: endpoint\ndata: ";
  const auto start = stream.find(marker);
  if (start == std::string::npos) return "";
  const auto begin = start + marker.size();
  return stream.substr(begin, stream.find('\n', begin) - begin);
}

}  // namespace

TEST_CASE("GET /sse sends the endpoint event; POSTs get 202 and their answers arrive on the stream") {
  for (const char* path : {"/sse", "/mcp/events"}) {
    CAPTURE(path);
    McpServer server;
    SseReader stream(server.port(), path);
    REQUIRE(stream.wait_for("event: endpoint"));
    CHECK(stream.status() == 200);
    const std::string endpoint = endpoint_path(stream.received());
    REQUIRE(endpoint.rfind("/messages?sessionId=", 0) == 0);
    CHECK(server.endpoint().open_sessions() == 1);

    auto client = server.client();
    const auto init = client.Post(endpoint, request("i", "initialize",
                                                    json{{"protocolVersion", "2024-11-05"}, {"capabilities", json::object()},
                                                         {"clientInfo", json{{"name", "n8n"}, {"version", "1"}}}})
                                                .dump(),
                                  "application/json");
    REQUIRE(init);
    CHECK(init->status == 202);
    REQUIRE(stream.wait_for(R"("id":"i")"));

    const auto call = client.Post(endpoint, request(2, "tools/call", json{{"name", "echo"}, {"arguments", json{{"text", "legacy"}}}})
                                                .dump(),
                                  "application/json");
    REQUIRE(call);
    CHECK(call->status == 202);
    REQUIRE(stream.wait_for("legacy"));
    const auto messages = sse_messages(stream.received());
    REQUIRE(messages.size() == 2);
    CHECK(messages[0]["result"]["protocolVersion"] == "2024-11-05");
    CHECK(messages[1]["id"] == 2);
  }
}

TEST_CASE("progress notifications go out on the legacy stream before the answer") {
  McpServer server;
  SseReader stream(server.port(), "/sse");
  REQUIRE(stream.wait_for("event: endpoint"));
  const std::string endpoint = endpoint_path(stream.received());
  auto client = server.client();
  client.Post(endpoint, request(1, "initialize", json{{"protocolVersion", "2025-03-26"}}).dump(), "application/json");
  client.Post(endpoint,
              request(2, "tools/call", json{{"name", "echo"}, {"_meta", json{{"progressToken", "t"}}}}).dump(),
              "application/json");
  REQUIRE(stream.wait_for(R"("id":2)"));
  const auto messages = sse_messages(stream.received());
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

  SseReader stream(server.port(), "/sse");
  REQUIRE(stream.wait_for("event: endpoint"));
  const std::string endpoint = endpoint_path(stream.received());
  const auto garbage = client.Post(endpoint, "{oops", "application/json");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  CHECK(json::parse(garbage->body)["error"]["code"] == -32700);
  const auto text = client.Post(endpoint, "{}", "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);
  // A legacy session id is not a Streamable HTTP one.
  const std::string id = endpoint.substr(endpoint.find('=') + 1);
  const auto crossed = client.Post("/mcp", session_headers(id), request(1, "ping").dump(), "application/json");
  REQUIRE(crossed);
  CHECK(crossed->status == 404);
}

TEST_CASE("a client that leaves drops its session and cancels its running calls") {
  McpServer server;
  SseReader stream(server.port(), "/sse");
  REQUIRE(stream.wait_for("event: endpoint"));
  const std::string endpoint = endpoint_path(stream.received());
  auto client = server.client();
  client.Post(endpoint, request(1, "initialize", json{{"protocolVersion", "2024-11-05"}}).dump(), "application/json");
  const auto call = client.Post(endpoint, request(2, "tools/call", json{{"name", "block"}}).dump(), "application/json");
  REQUIRE(call);
  CHECK(call->status == 202);
  REQUIRE(server.blocking.wait_started());
  stream.stop();
  CHECK(server.blocking.wait_cancelled());
  const auto after = client.Post(endpoint, request(3, "ping").dump(), "application/json");
  REQUIRE(after);
  CHECK(after->status == 404);
  CHECK(server.endpoint().open_sessions() == 0);
}

TEST_CASE("notifications/cancelled on the legacy transport stops the call without an answer") {
  McpServer server;
  SseReader stream(server.port(), "/sse");
  REQUIRE(stream.wait_for("event: endpoint"));
  const std::string endpoint = endpoint_path(stream.received());
  auto client = server.client();
  client.Post(endpoint, request(1, "initialize", json{{"protocolVersion", "2025-06-18"}}).dump(), "application/json");
  client.Post(endpoint, request("slow", "tools/call", json{{"name", "block"}}).dump(), "application/json");
  REQUIRE(server.blocking.wait_started());
  const auto cancel = client.Post(
      endpoint, R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"slow"}})", "application/json");
  REQUIRE(cancel);
  CHECK(cancel->status == 202);
  CHECK(server.blocking.wait_cancelled());
  client.Post(endpoint, request("after", "ping").dump(), "application/json");
  REQUIRE(stream.wait_for(R"("id":"after")"));
  CHECK(stream.received().find(R"("id":"slow")") == std::string::npos);
}
