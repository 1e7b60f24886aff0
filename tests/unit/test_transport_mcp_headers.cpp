#include <catch2/catch.hpp>
#include <variant>

#include "transport/mcp_headers.hpp"

using nlohmann::json;

namespace {

json stateless_request(const std::string& method, json params = json::object()) {
  params["_meta"] = json{{"io.modelcontextprotocol/protocolVersion", "2026-07-28"},
                         {"io.modelcontextprotocol/clientCapabilities", json::object()}};
  return json{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", params}};
}

transport::McpHeaders modern_headers(const std::string& method, std::optional<std::string> name = std::nullopt) {
  return transport::McpHeaders{"2026-07-28", method, std::move(name)};
}

int rejection_code(const std::variant<transport::Era, transport::Rejection>& route) {
  return std::get<transport::Rejection>(route).error.code;
}

mcp::Request as_request(const json& body) { return mcp::Request{body["id"], body["method"], body["params"]}; }

}  // namespace

TEST_CASE("Accept decides between JSON and SSE answers") {
  const auto both = transport::parse_accept("application/json, text/event-stream");
  CHECK(both.json);
  CHECK(both.sse);
  CHECK(transport::parse_accept("").json);
  CHECK(transport::parse_accept("").sse);
  CHECK(transport::parse_accept("*/*").sse);
  const auto json_only = transport::parse_accept("application/json;q=0.9");
  CHECK(json_only.json);
  CHECK_FALSE(json_only.sse);
  const auto sse_only = transport::parse_accept("Text/Event-Stream");
  CHECK_FALSE(sse_only.json);
  CHECK(sse_only.sse);
  const auto neither = transport::parse_accept("text/html");
  CHECK_FALSE(neither.json);
  CHECK_FALSE(neither.sse);
}

TEST_CASE("only application/json bodies are accepted") {
  CHECK(transport::is_json_content_type("application/json"));
  CHECK(transport::is_json_content_type("Application/JSON; charset=utf-8"));
  CHECK_FALSE(transport::is_json_content_type(""));
  CHECK_FALSE(transport::is_json_content_type("text/plain"));
  CHECK_FALSE(transport::is_json_content_type("application/json-seq"));
}

TEST_CASE("Mcp-Name values are plain ASCII or the base64 sentinel") {
  CHECK(transport::decode_mcp_header_value("run_code") == "run_code");
  CHECK(transport::decode_mcp_header_value("=?base64?SGVsbG8sIOS4lueVjA==?=") == "Hello, \xe4\xb8\x96\xe7\x95\x8c");
  CHECK(transport::decode_mcp_header_value("=?base64?IHBhZGRlZCA=?=") == " padded ");
  CHECK_FALSE(transport::decode_mcp_header_value("=?base64?not*base64?="));
  CHECK_FALSE(transport::decode_mcp_header_value("bad\nvalue"));
  CHECK_FALSE(transport::decode_mcp_header_value("caf\xc3\xa9"));
}

TEST_CASE("POST bodies are routed by their _meta claim") {
  const transport::McpHeaders none;
  CHECK(std::get<transport::Era>(transport::route_post(none, stateless_request("tools/list"))) == transport::Era::stateless);
  const json legacy = json::parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  CHECK(std::get<transport::Era>(transport::route_post(none, legacy)) == transport::Era::session);
  const json init =
      json::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})");
  CHECK(std::get<transport::Era>(transport::route_post(transport::McpHeaders{"2025-06-18", {}, {}}, init)) == transport::Era::session);
  // A stateless client sending initialize gets the stateless answer: no such method.
  CHECK(std::get<transport::Era>(transport::route_post(none, stateless_request("initialize"))) == transport::Era::stateless);
  CHECK(std::get<transport::Era>(transport::route_post(none, json::parse("[1]"))) == transport::Era::session);
  CHECK(std::get<transport::Era>(transport::route_post(none, json::parse(R"({"jsonrpc":"2.0","id":1,"result":{}})"))) ==
        transport::Era::session);
}

TEST_CASE("a stateless MCP-Protocol-Version header without the _meta envelope is refused") {
  const transport::McpHeaders modern{"2026-07-28", "tools/list", {}};
  const json legacy = json::parse(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})");
  CHECK(rejection_code(transport::route_post(modern, legacy)) == -32602);
  const json init =
      json::parse(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}})");
  CHECK(rejection_code(transport::route_post(modern, init)) == -32020);
  const json notification = json::parse(R"({"jsonrpc":"2.0","method":"notifications/cancelled"})");
  CHECK(std::get<transport::Era>(transport::route_post(modern, notification)) == transport::Era::stateless);
}

TEST_CASE("a batch may not carry stateless requests") {
  const json batch = json::array({stateless_request("tools/list")});
  const auto route = transport::route_post(transport::McpHeaders{}, batch);
  CHECK(rejection_code(route) == -32600);
  CHECK(std::get<transport::Rejection>(route).status == 400);
}

TEST_CASE("stateless headers must be present and agree with the body") {
  const json list = stateless_request("tools/list");
  CHECK_FALSE(transport::check_stateless_headers(modern_headers("tools/list"), as_request(list), "2026-07-28"));

  const json call = stateless_request("tools/call", json{{"name", "run_code"}});
  CHECK_FALSE(transport::check_stateless_headers(modern_headers("tools/call", "run_code"), as_request(call), "2026-07-28"));
  CHECK_FALSE(transport::check_stateless_headers(modern_headers("tools/call", "=?base64?cnVuX2NvZGU=?="), as_request(call),
                                            "2026-07-28"));

  const auto [headers, why] = GENERATE(table<transport::McpHeaders, const char*>({
      {transport::McpHeaders{{}, "tools/call", "run_code"}, "no MCP-Protocol-Version"},
      {transport::McpHeaders{"2025-11-25", "tools/call", "run_code"}, "version differs from _meta"},
      {transport::McpHeaders{"2026-07-28", {}, "run_code"}, "no Mcp-Method"},
      {transport::McpHeaders{"2026-07-28", "tools/list", "run_code"}, "method differs"},
      {transport::McpHeaders{"2026-07-28", "tools/call", {}}, "no Mcp-Name"},
      {transport::McpHeaders{"2026-07-28", "tools/call", "list_files"}, "name differs"},
      {transport::McpHeaders{"2026-07-28", "tools/call", "=?base64?***?="}, "undecodable name"},
  }));
  CAPTURE(why);
  const auto rejection = transport::check_stateless_headers(headers, as_request(call), "2026-07-28");
  REQUIRE(rejection);
  CHECK(rejection->status == 400);
  CHECK(rejection->error.code == -32020);
  CHECK(rejection->id == 1);
}
