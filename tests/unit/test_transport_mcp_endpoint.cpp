#include <catch2/catch.hpp>

#include "transport_fixture.hpp"

using namespace test_http;

TEST_CASE("every MCP route answers 401 with WWW-Authenticate without the right token") {
  McpServer server;
  const auto [token, why] = GENERATE(table<const char*, const char*>({
      {"", "no Authorization header"},
      {"Bearer wrong-token", "wrong token"},
      {"Bearer", "malformed"},
      {"Basic dGVzdDp0ZXN0", "another scheme"},
  }));
  CAPTURE(why);
  auto client = server.client(/*with_token=*/false);
  httplib::Headers headers{{"Accept", "application/json, text/event-stream"}};
  if (*token != '\0') headers.emplace("Authorization", token);

  const auto post = client.Post("/mcp", headers, request(1, "initialize").dump(), "application/json");
  const auto get = client.Get("/mcp", headers);
  const auto del = client.Delete("/mcp", headers);
  const auto sse = client.Get("/sse", headers);
  const auto events = client.Get("/mcp/events", headers);
  const auto messages = client.Post("/messages?sessionId=x", headers, "{}", "application/json");
  for (const auto* result : {&post, &get, &del, &sse, &events, &messages}) {
    REQUIRE(*result);
    CHECK((*result)->status == 401);
    CHECK((*result)->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
  }
}

TEST_CASE("a foreign Origin is 403 even with a valid token") {
  McpServer server;
  auto client = server.client();
  httplib::Headers headers{{"Origin", "http://evil.example"}, {"Accept", "application/json, text/event-stream"}};
  const auto post = client.Post("/mcp", headers, request(1, "initialize").dump(), "application/json");
  REQUIRE(post);
  CHECK(post->status == 403);
  const auto sse = client.Get("/sse", headers);
  REQUIRE(sse);
  CHECK(sse->status == 403);
}

TEST_CASE("the server's own origin and listed origins pass the Origin check") {
  auto options = test_options();
  options.allowed_origins = {"https://chat.example.com"};
  McpServer listed(options);
  auto client = listed.client();
  client.set_default_headers({{"Authorization", "Bearer " + kToken}, {"Origin", "https://chat.example.com"}});
  const auto allowed = post_initialize(client);
  REQUIRE(allowed);
  CHECK(allowed->status == 200);

  McpServer defaults;
  auto local = defaults.client();
  const std::string own_origin = "http://127.0.0.1:" + std::to_string(defaults.port());
  local.set_default_headers({{"Authorization", "Bearer " + kToken}, {"Origin", own_origin}});
  const auto same_host = post_initialize(local);
  REQUIRE(same_host);
  CHECK(same_host->status == 200);
  local.set_default_headers({{"Authorization", "Bearer " + kToken}, {"Origin", "http://127.0.0.1:1"}});
  const auto other_port = post_initialize(local);
  REQUIRE(other_port);
  CHECK(other_port->status == 403);
}

TEST_CASE("after shutdown new MCP requests are refused with 503") {
  McpServer server;
  auto client = server.client();
  server.endpoint().shutdown();
  const auto post = client.Post("/mcp", session_headers(), request(1, "initialize").dump(), "application/json");
  REQUIRE(post);
  CHECK(post->status == 503);
  const auto sse = client.Get("/sse");
  REQUIRE(sse);
  CHECK(sse->status == 503);
}

TEST_CASE("shutdown cancels running calls and ends open streams") {
  McpServer server;
  SseReader stream(server.port(), "/sse");
  REQUIRE(stream.wait_for("event: endpoint"));
  auto client = server.client();
  const std::string session = open_session(client);
  std::thread caller([&] {
    auto own = server.client();
    own.Post("/mcp", session_headers(session), request(5, "tools/call", json{{"name", "block"}}).dump(),
             "application/json");
  });
  REQUIRE(server.blocking.wait_started());
  server.endpoint().shutdown();
  CHECK(server.blocking.wait_cancelled());
  CHECK(stream.wait_ended());
  CHECK(server.endpoint().open_sessions() == 0);
  caller.join();
}
