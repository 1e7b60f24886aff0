// The MCP transports through the seam they are written against (http::Router, Request, Response),
// with no socket: routes are looked up and called as the server would, bodies come from memory and
// streamed answers are collected by a BodyWriter of the test's.

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>

#include "http/router.hpp"
#include "support/fake_request.hpp"
#include "transport/mcp_endpoint.hpp"

using nlohmann::json;

namespace {

const std::string kToken = "in-process-token-0123456789abcdefghijklmn";

class CollectingWriter final : public http::BodyWriter {
 public:
  bool write(std::string_view data) override {
    text.append(data);
    return true;
  }
  std::string text;
};

struct InProcess {
  explicit InProcess(transport::TokenVerifier verifier = {}) {
    tools.add({"echo", "Echo", "Echoes text", json{{"type", "object"}}, nullptr, nullptr},
              [](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
                context.progress(1, 1, "half way");
                return json{{"content", json::array({json{{"type", "text"}, {"text", arguments.value("text", "")}}})}};
              });
    transport::McpEndpointOptions options;
    options.api_tokens = {kToken};
    options.token_verifier = std::move(verifier);
    endpoint = std::make_unique<transport::McpEndpoint>(tools, options);
    endpoint->mount(routes);
  }
  ~InProcess() { endpoint->shutdown(); }

  // Calls the route as the server would; a streamed body is produced into `streamed`.
  http::Response call(http::Request& request, std::string* streamed = nullptr) {
    http::Response response;
    const auto match = routes.find(request.method(), request.path());
    REQUIRE(match.handler != nullptr);
    (*match.handler)(request, response);
    if (response.stream) {
      CollectingWriter writer;
      response.stream(writer);
      if (streamed != nullptr) *streamed = writer.text;
    }
    return response;
  }

  mcp::ToolRegistry tools;
  http::Router routes;
  std::unique_ptr<transport::McpEndpoint> endpoint;
};

const json kInitialize = {{"jsonrpc", "2.0"},
                          {"id", 1},
                          {"method", "initialize"},
                          {"params",
                           {{"protocolVersion", "2025-06-18"},
                            {"capabilities", json::object()},
                            {"clientInfo", {{"name", "t"}, {"version", "1"}}}}}};

std::vector<http::Header> headers(std::vector<http::Header> extra = {}) {
  extra.push_back({"Authorization", "Bearer " + kToken});
  extra.push_back({"Content-Type", "application/json"});
  return extra;
}

}  // namespace

TEST_CASE("in process: a stateless 2026-07-28 tools/call streams progress, then its answer", "[transport]") {
  InProcess mcp;
  json call = {{"jsonrpc", "2.0"},
               {"id", 7},
               {"method", "tools/call"},
               {"params",
                {{"name", "echo"},
                 {"arguments", {{"text", "hi"}}},
                 {"_meta",
                  {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                   {"io.modelcontextprotocol/clientCapabilities", json::object()},
                   {"io.modelcontextprotocol/clientInfo", {{"name", "t"}, {"version", "1"}}},
                   {"progressToken", "p"}}}}}};
  test_http::FakeRequest request("POST", "/mcp",
                                 headers({{"Accept", "application/json, text/event-stream"},
                                          {"MCP-Protocol-Version", "2026-07-28"},
                                          {"Mcp-Method", "tools/call"},
                                          {"Mcp-Name", "echo"}}),
                                 call.dump());
  std::string events;
  const auto response = mcp.call(request, &events);
  CHECK(response.status == 200);
  CHECK(response.header("Content-Type") == "text/event-stream");
  const auto progress = events.find("notifications/progress");
  const auto answer = events.find("\"id\":7");
  CHECK(progress != std::string::npos);
  CHECK(answer > progress);
  CHECK(events.find("\"text\":\"hi\"") != std::string::npos);
}

TEST_CASE("in process: the body is not read before the token is checked", "[transport][front_door]") {
  InProcess mcp;
  test_http::FakeRequest anonymous("POST", "/mcp", {{"Content-Type", "application/json"}}, R"({"jsonrpc":"2.0"})");
  const auto refused = mcp.call(anonymous);
  CHECK(refused.status == 401);
  CHECK(anonymous.body_reads() == 0);
  test_http::FakeRequest foreign("POST", "/mcp", headers({{"Origin", "https://evil.example"}}), "{}");
  CHECK(mcp.call(foreign).status == 403);
  CHECK(foreign.body_reads() == 0);
}

TEST_CASE("in process: a body over the cap is a JSON-RPC error with 413 that closes the connection",
          "[transport][front_door]") {
  InProcess mcp;
  test_http::FakeRequest big("POST", "/mcp", headers(), std::string(100, ' '), "127.0.0.1", /*max_body=*/10);
  const auto response = mcp.call(big);
  CHECK(response.status == 413);
  CHECK(response.close);
  CHECK(json::parse(response.body)["error"]["code"] == -32600);
}

TEST_CASE("in process: a 2025 session from initialize to DELETE", "[transport]") {
  InProcess mcp;
  test_http::FakeRequest initialize("POST", "/mcp", headers({{"Accept", "application/json, text/event-stream"}}),
                                    kInitialize.dump());
  const auto opened = mcp.call(initialize);
  REQUIRE(opened.status == 200);
  const auto session = opened.header("Mcp-Session-Id");
  REQUIRE(session.size() == 32);
  CHECK(mcp.endpoint->open_sessions() == 1);
  test_http::FakeRequest remove("DELETE", "/mcp", headers({{"Mcp-Session-Id", session}}));
  CHECK(mcp.call(remove).status == 200);
  CHECK(mcp.endpoint->open_sessions() == 0);
}

TEST_CASE("in process: a request's token is verified once, whatever the request does with its caller",
          "[transport]") {
  int verified = 0;
  InProcess mcp([&verified](std::string_view token) -> std::optional<transport::Caller> {
    ++verified;
    if (token == "mcp_at_granted") return transport::Caller{"oauth:g1", "client"};
    return std::nullopt;
  });
  const auto granted = [](std::vector<http::Header> extra) {
    extra.push_back({"Authorization", "Bearer mcp_at_granted"});
    extra.push_back({"Content-Type", "application/json"});
    extra.push_back({"Accept", "application/json, text/event-stream"});
    return extra;
  };
  test_http::FakeRequest initialize("POST", "/mcp", granted({}), kInitialize.dump());
  const auto opened = mcp.call(initialize);
  REQUIRE(opened.status == 200);
  CHECK(verified == 1);
  const auto session = opened.header("Mcp-Session-Id");
  const json call = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/call"},
                     {"params", {{"name", "echo"}, {"arguments", {{"text", "hi"}}}}}};
  test_http::FakeRequest tool_call("POST", "/mcp", granted({{"Mcp-Session-Id", session}, {"MCP-Protocol-Version", "2025-06-18"}}),
                                   call.dump());
  std::string streamed;
  const auto answered = mcp.call(tool_call, &streamed);
  CHECK(answered.status == 200);
  CHECK_THAT(answered.body + streamed, Catch::Contains("hi"));
  CHECK(verified == 2);
  test_http::FakeRequest remove("DELETE", "/mcp", granted({{"Mcp-Session-Id", session}}));
  CHECK(mcp.call(remove).status == 200);
  CHECK(verified == 3);
}
