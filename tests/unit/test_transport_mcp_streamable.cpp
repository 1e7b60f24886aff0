#include <catch2/catch.hpp>

#include "transport_fixture.hpp"

using namespace test_http;

namespace {

json body_of(const httplib::Result& result) { return json::parse(result->body); }

}  // namespace

TEST_CASE("a 2025 session: initialize, Mcp-Session-Id, requests with it, DELETE, then 404") {
  McpServer server;
  auto client = server.client();
  const auto init = post_initialize(client);
  REQUIRE(init);
  REQUIRE(init->status == 200);
  CHECK(init->get_header_value("Content-Type") == "application/json");
  const std::string session = init->get_header_value("Mcp-Session-Id");
  CHECK(session.size() == 32);
  CHECK(session.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(body_of(init)["result"]["protocolVersion"] == "2025-06-18");
  CHECK(server.endpoint().open_sessions() == 1);

  const auto initialized = client.Post("/mcp", session_headers(session),
                                       R"({"jsonrpc":"2.0","method":"notifications/initialized"})", "application/json");
  REQUIRE(initialized);
  CHECK(initialized->status == 202);
  CHECK(initialized->body.empty());

  const auto list = client.Post("/mcp", session_headers(session), request(2, "tools/list").dump(), "application/json");
  REQUIRE(list);
  CHECK(list->status == 200);
  CHECK(body_of(list)["result"]["tools"][0]["name"] == "echo");

  const auto removed = client.Delete("/mcp", session_headers(session));
  REQUIRE(removed);
  CHECK(removed->status == 200);
  CHECK(server.endpoint().open_sessions() == 0);

  const auto after = client.Post("/mcp", session_headers(session), request(3, "tools/list").dump(), "application/json");
  REQUIRE(after);
  CHECK(after->status == 404);
  const auto again = client.Delete("/mcp", session_headers(session));
  REQUIRE(again);
  CHECK(again->status == 404);
}

TEST_CASE("requests after initialize need a known Mcp-Session-Id") {
  McpServer server;
  auto client = server.client();
  const auto missing = client.Post("/mcp", session_headers(), request(1, "tools/list").dump(), "application/json");
  REQUIRE(missing);
  CHECK(missing->status == 400);
  CHECK(body_of(missing)["id"] == 1);
  const auto unknown = client.Post("/mcp", session_headers("00000000000000000000000000000000"),
                                   request(1, "tools/list").dump(), "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  const auto no_header_delete = client.Delete("/mcp");
  REQUIRE(no_header_delete);
  CHECK(no_header_delete->status == 400);
}

TEST_CASE("client responses and notifications get 202 with no body") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  for (const char* body : {R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}})",
                           R"({"jsonrpc":"2.0","id":"s1","result":{}})"}) {
    CAPTURE(body);
    const auto result = client.Post("/mcp", session_headers(session), body, "application/json");
    REQUIRE(result);
    CHECK(result->status == 202);
    CHECK(result->body.empty());
  }
}

TEST_CASE("an unsupported MCP-Protocol-Version header is 400") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  const auto result =
      client.Post("/mcp", session_headers(session, "1999-01-01"), request(1, "tools/list").dump(), "application/json");
  REQUIRE(result);
  CHECK(result->status == 400);
  // Without the header a 2025 server assumes 2025-03-26 (and the session knows its own version anyway).
  const auto absent =
      client.Post("/mcp", session_headers(session, ""), request(2, "tools/list").dump(), "application/json");
  REQUIRE(absent);
  CHECK(absent->status == 200);
}

TEST_CASE("bodies that are not JSON or not JSON-RPC are refused") {
  McpServer server;
  auto client = server.client();
  const auto garbage = client.Post("/mcp", session_headers(), "{not json", "application/json");
  REQUIRE(garbage);
  CHECK(garbage->status == 400);
  CHECK(body_of(garbage)["error"]["code"] == -32700);
  CHECK(body_of(garbage)["id"].is_null());

  const std::string session = open_session(client);
  const auto invalid =
      client.Post("/mcp", session_headers(session), R"({"jsonrpc":"2.0","id":4,"method":12})", "application/json");
  REQUIRE(invalid);
  CHECK(invalid->status == 400);
  CHECK(body_of(invalid)["error"]["code"] == -32600);

  const auto text = client.Post("/mcp", session_headers(session), "{}", "text/plain");
  REQUIRE(text);
  CHECK(text->status == 415);

  const auto html_only = client.Post("/mcp", {{"Accept", "text/html"}, {"Mcp-Session-Id", session}},
                                     request(5, "ping").dump(), "application/json");
  REQUIRE(html_only);
  CHECK(html_only->status == 406);
}

TEST_CASE("batches work on a 2025-03-26 session and are refused on later ones") {
  McpServer server;
  auto client = server.client();
  const std::string march = open_session(client, "2025-03-26");
  const json batch = json::array({request(1, "ping"), request(2, "tools/list")});
  const auto answered = client.Post("/mcp", session_headers(march, "2025-03-26"), batch.dump(), "application/json");
  REQUIRE(answered);
  CHECK(answered->status == 200);
  REQUIRE(body_of(answered).is_array());
  CHECK(body_of(answered).size() == 2);

  const std::string june = open_session(client, "2025-06-18");
  const auto refused = client.Post("/mcp", session_headers(june), batch.dump(), "application/json");
  REQUIRE(refused);
  CHECK(refused->status == 400);
  CHECK(body_of(refused)["error"]["code"] == -32600);
}

TEST_CASE("GET /mcp is 405, since this server has nothing to send outside a request") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  const auto get = client.Get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}});
  REQUIRE(get);
  CHECK(get->status == 405);
  CHECK(get->get_header_value("Allow") == "POST, DELETE");
  const auto still_there = client.Post("/mcp", session_headers(session), request(1, "ping").dump(), "application/json");
  REQUIRE(still_there);
  CHECK(still_there->status == 200);
  const auto ended = client.Get("/mcp", {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", "gone"}});
  REQUIRE(ended);
  CHECK(ended->status == 404);
}

TEST_CASE("a call with a progress token is answered as SSE, notifications before the result") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  const auto result = client.Post(
      "/mcp", session_headers(session),
      request(7, "tools/call",
              json{{"name", "echo"}, {"arguments", json{{"text", "hi"}}}, {"_meta", json{{"progressToken", "p"}}}})
          .dump(),
      "application/json");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(result->get_header_value("Content-Type") == "text/event-stream");
  const auto messages = sse_messages(result->body);
  REQUIRE(messages.size() == 4);
  for (int step = 0; step < 3; ++step) {
    CHECK(messages[step]["method"] == "notifications/progress");
    CHECK(messages[step]["params"]["progressToken"] == "p");
    CHECK(messages[step]["params"]["progress"] == step + 1);
  }
  CHECK(messages[3]["id"] == 7);
  CHECK(messages[3]["result"]["content"][0]["text"] == "hi");

  // Without a token (and without logging) the same call is plain JSON.
  const auto plain = client.Post(
      "/mcp", session_headers(session),
      request(8, "tools/call", json{{"name", "echo"}, {"arguments", json{{"text", "x"}}}}).dump(), "application/json");
  REQUIRE(plain);
  CHECK(plain->get_header_value("Content-Type") == "application/json");
  CHECK(body_of(plain)["result"]["content"][0]["text"] == "x");
}

TEST_CASE("a session with a logging level gets log notifications on the call's stream") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  const auto level = client.Post("/mcp", session_headers(session),
                                 request(1, "logging/setLevel", json{{"level", "info"}}).dump(), "application/json");
  REQUIRE(level);
  REQUIRE(level->status == 200);
  const auto call = client.Post("/mcp", session_headers(session),
                                request(2, "tools/call", json{{"name", "echo"}}).dump(), "application/json");
  REQUIRE(call);
  const auto messages = sse_messages(call->body);
  REQUIRE(messages.size() == 2);
  CHECK(messages[0]["method"] == "notifications/message");
  CHECK(messages[0]["params"]["level"] == "info");
  CHECK(messages[1]["id"] == 2);
}

TEST_CASE("DELETE ends the session and cancels its running calls") {
  McpServer server;
  auto client = server.client();
  const std::string session = open_session(client);
  int call_status = 0;
  std::thread caller([&] {
    auto own = server.client();
    const auto result = own.Post("/mcp", session_headers(session),
                                 request(5, "tools/call", json{{"name", "block"}}).dump(), "application/json");
    call_status = result ? result->status : -1;
  });
  REQUIRE(server.blocking.wait_started());
  const auto removed = client.Delete("/mcp", session_headers(session));
  REQUIRE(removed);
  CHECK(removed->status == 200);
  CHECK(server.blocking.wait_cancelled());
  caller.join();
  CHECK(call_status == 200);  // the call still gets its answer; the session is gone
}

TEST_CASE("sessions beyond the cap get 503, and idle ones expire") {
  auto options = test_options();
  options.max_sessions = 1;
  McpServer capped(options);
  auto client = capped.client();
  open_session(client);
  const auto second = post_initialize(client);
  REQUIRE(second);
  CHECK(second->status == 503);

  options.session_idle_timeout = std::chrono::seconds(0);
  McpServer expiring(options);
  auto other = expiring.client();
  const auto init = post_initialize(other);
  REQUIRE(init);
  const auto later = other.Post("/mcp", session_headers(init->get_header_value("Mcp-Session-Id")),
                                request(1, "ping").dump(), "application/json");
  REQUIRE(later);
  CHECK(later->status == 404);
}

TEST_CASE("2026-07-28 requests are served without a session") {
  McpServer server;
  auto client = server.client();
  const auto discover = client.Post("/mcp", stateless_headers("server/discover"),
                                    stateless_request(1, "server/discover").dump(), "application/json");
  REQUIRE(discover);
  CHECK(discover->status == 200);
  CHECK_FALSE(discover->has_header("Mcp-Session-Id"));
  CHECK(body_of(discover)["result"]["supportedVersions"] == json::array({"2026-07-28"}));
  CHECK(body_of(discover)["result"]["resultType"] == "complete");

  const auto list = client.Post("/mcp", stateless_headers("tools/list"), stateless_request(2, "tools/list").dump(),
                                "application/json");
  REQUIRE(list);
  CHECK(body_of(list)["result"]["ttlMs"].is_number());
  CHECK(body_of(list)["result"]["tools"].size() == 2);

  const auto call =
      client.Post("/mcp", stateless_headers("tools/call", "echo"),
                  stateless_request(3, "tools/call", json{{"name", "echo"}, {"arguments", json{{"text", "s"}}}}).dump(),
                  "application/json");
  REQUIRE(call);
  // Stateless tool calls stream whenever the client accepts it: closing the stream is how it cancels.
  CHECK(call->get_header_value("Content-Type") == "text/event-stream");
  CHECK(final_message(call)["result"]["content"][0]["text"] == "s");
  auto json_only = stateless_headers("tools/call", "echo");
  json_only.erase("Accept");
  json_only.emplace("Accept", "application/json");
  const auto plain = client.Post("/mcp", json_only, stateless_request(4, "tools/call", json{{"name", "echo"}}).dump(),
                                 "application/json");
  REQUIRE(plain);
  CHECK(plain->get_header_value("Content-Type") == "application/json");
  CHECK(body_of(plain)["result"]["resultType"] == "complete");
  CHECK(server.endpoint().open_sessions() == 0);
}

TEST_CASE("2026-07-28 header checks and errors have their HTTP statuses") {
  McpServer server;
  auto client = server.client();
  const auto mismatch = client.Post("/mcp", stateless_headers("tools/call", "echo"),
                                    stateless_request(1, "tools/list").dump(), "application/json");
  REQUIRE(mismatch);
  CHECK(mismatch->status == 400);
  CHECK(body_of(mismatch)["error"]["code"] == -32020);
  CHECK(body_of(mismatch)["id"] == 1);

  const auto wrong_name =
      client.Post("/mcp", stateless_headers("tools/call", "block"),
                  stateless_request(2, "tools/call", json{{"name", "echo"}}).dump(), "application/json");
  REQUIRE(wrong_name);
  CHECK(wrong_name->status == 400);
  CHECK(body_of(wrong_name)["error"]["code"] == -32020);

  const auto unsupported =
      client.Post("/mcp", stateless_headers("tools/list", "", "2027-01-01"),
                  stateless_request(3, "tools/list", json::object(), "2027-01-01").dump(), "application/json");
  REQUIRE(unsupported);
  CHECK(unsupported->status == 400);
  CHECK(body_of(unsupported)["error"]["code"] == -32022);
  CHECK(body_of(unsupported)["error"]["data"]["requested"] == "2027-01-01");
  CHECK(body_of(unsupported)["error"]["data"]["supported"][0] == "2026-07-28");

  const auto unknown = client.Post("/mcp", stateless_headers("prompts/list"),
                                   stateless_request(4, "prompts/list").dump(), "application/json");
  REQUIRE(unknown);
  CHECK(unknown->status == 404);
  CHECK(body_of(unknown)["error"]["code"] == -32601);

  const auto no_envelope =
      client.Post("/mcp", stateless_headers("tools/list"), request(5, "tools/list").dump(), "application/json");
  REQUIRE(no_envelope);
  CHECK(no_envelope->status == 400);
  CHECK(body_of(no_envelope)["error"]["code"] == -32602);

  json no_capabilities = stateless_request(6, "tools/list");
  no_capabilities["params"]["_meta"].erase("io.modelcontextprotocol/clientCapabilities");
  const auto incomplete =
      client.Post("/mcp", stateless_headers("tools/list"), no_capabilities.dump(), "application/json");
  REQUIRE(incomplete);
  CHECK(incomplete->status == 400);
  CHECK(body_of(incomplete)["error"]["code"] == -32602);

  const auto tool_error =
      client.Post("/mcp", stateless_headers("tools/call", "nope"),
                  stateless_request(7, "tools/call", json{{"name", "nope"}}).dump(), "application/json");
  REQUIRE(tool_error);
  CHECK(tool_error->status == 200);  // in-band: the request itself was well-formed
  CHECK(final_message(tool_error)["error"]["code"] == -32602);
}

TEST_CASE("a 2026-07-28 call with a progress token streams its progress") {
  McpServer server;
  auto client = server.client();
  const auto call = client.Post(
      "/mcp", stateless_headers("tools/call", "echo"),
      stateless_request("c", "tools/call", json{{"name", "echo"}, {"_meta", json{{"progressToken", 1}}}}).dump(),
      "application/json");
  REQUIRE(call);
  CHECK(call->get_header_value("Content-Type") == "text/event-stream");
  const auto messages = sse_messages(call->body);
  REQUIRE(messages.size() == 4);
  CHECK(messages[0]["method"] == "notifications/progress");
  CHECK(messages[3]["result"]["resultType"] == "complete");
}

TEST_CASE("closing a 2026-07-28 stream cancels its call") {
  McpServer server;
  std::atomic<bool> stop_reading{false};
  std::thread caller([&] {
    auto client = server.client();
    const json body =
        stateless_request(1, "tools/call", json{{"name", "block"}, {"_meta", json{{"progressToken", 1}}}});
    httplib::Request post;
    post.method = "POST";
    post.path = "/mcp";
    post.headers = stateless_headers("tools/call", "block");
    post.headers.emplace("Content-Type", "application/json");
    post.body = body.dump();
    post.content_receiver = [&](const char*, std::size_t, std::uint64_t, std::uint64_t) { return !stop_reading; };
    client.send(post);
  });
  REQUIRE(server.blocking.wait_started());
  stop_reading = true;  // the client hangs up at the next keep-alive
  CHECK(server.blocking.wait_cancelled());
  caller.join();
}
