#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "mcp/json_rpc.hpp"

using mcp::json;

namespace {

// The error a message is refused with, or -1 when it is valid.
int refusal_code(const json& value) {
  const auto message = mcp::parse_message(value);
  const auto* invalid = std::get_if<mcp::InvalidMessage>(&message);
  return invalid == nullptr ? -1 : invalid->error.code;
}

}  // namespace

TEST_CASE("malformed JSON-RPC messages are invalid requests") {
  const auto [text, why] = GENERATE(table<const char*, const char*>({
      {R"(42)", "not an object"},
      {R"("tools/list")", "not an object"},
      {R"(null)", "not an object"},
      {R"({"id":1,"method":"ping"})", "jsonrpc missing"},
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", "wrong jsonrpc"},
      {R"({"jsonrpc":2.0,"id":1,"method":"ping"})", "jsonrpc not a string"},
      {R"({"jsonrpc":"2.0","id":1})", "method missing"},
      {R"({"jsonrpc":"2.0","id":1,"method":7})", "method not a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":null})", "method null"},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", "null id"},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", "object id"},
      {R"({"jsonrpc":"2.0","id":[1],"method":"ping"})", "array id"},
      {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", "boolean id"},
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"})", "params a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":3})", "params a number"},
      {R"({"jsonrpc":"2.0","method":"notifications/x","params":true})", "notification params a boolean"},
      {R"({"jsonrpc":"2.0","result":{}})", "response without id"},
  }));
  CAPTURE(text, why);
  CHECK(refusal_code(json::parse(text)) == mcp::error_code::invalid_request);
}

TEST_CASE("invalid requests echo a usable id and use null otherwise") {
  auto message = mcp::parse_message(json::parse(R"({"jsonrpc":"1.0","id":"abc","method":"ping"})"));
  CHECK(std::get<mcp::InvalidMessage>(message).id == "abc");
  message = mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":{"x":1},"method":"ping"})"));
  CHECK(std::get<mcp::InvalidMessage>(message).id.is_null());
}

TEST_CASE("valid messages are classified as requests, notifications or client responses") {
  const auto request =
      mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":"x-1","method":"tools/list","params":{}})"));
  REQUIRE(std::holds_alternative<mcp::Request>(request));
  CHECK(std::get<mcp::Request>(request).id == "x-1");
  CHECK(std::get<mcp::Request>(request).method == "tools/list");

  const auto without_params = mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":0,"method":"ping"})"));
  REQUIRE(std::holds_alternative<mcp::Request>(without_params));
  CHECK(std::get<mcp::Request>(without_params).params.is_null());

  const auto positional = mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":3,"method":"ping","params":[1]})"));
  CHECK(std::holds_alternative<mcp::Request>(positional));  // JSON-RPC allows arrays; the dispatcher refuses them

  const auto notification =
      mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  CHECK(std::holds_alternative<mcp::Notification>(notification));

  const auto response = mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":5,"result":{}})"));
  CHECK(std::holds_alternative<mcp::ClientResponse>(response));
  const auto error = mcp::parse_message(json::parse(R"({"jsonrpc":"2.0","id":5,"error":{"code":1,"message":"m"}})"));
  CHECK(std::holds_alternative<mcp::ClientResponse>(error));
}

TEST_CASE("ids are echoed exactly as sent") {
  for (const char* id : {R"("7")", "7", "-3", "1.5", R"("")", "9007199254740993"}) {
    CAPTURE(id);
    const json sent = json::parse(id);
    const auto message = mcp::parse_message(json{{"jsonrpc", "2.0"}, {"id", sent}, {"method", "ping"}});
    const json response = mcp::result_response(std::get<mcp::Request>(message).id, json::object());
    CHECK(mcp::encode(response["id"]) == mcp::encode(sent));
  }
}

TEST_CASE("bodies that are not JSON are parse errors") {
  for (const char* text : {"", "{", "{\"jsonrpc\":", "nul", "[1,2", "\xff\xfe"}) {
    CAPTURE(text);
    const auto decoded = mcp::decode(text);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == mcp::error_code::parse_error);
  }
  CHECK(mcp::decode(R"({"a":[1,{"b":"[[[["}]})"));
}

TEST_CASE("deeply nested bodies are refused before anything recurses into them") {
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  const auto decoded = mcp::decode(deep, 64);
  REQUIRE_FALSE(decoded);
  CHECK(decoded.error().code == mcp::error_code::parse_error);
  CHECK(mcp::decode(deep, 128));
}

TEST_CASE("responses and notifications have the JSON-RPC 2.0 shape") {
  const json error = mcp::error_response(nullptr, mcp::RpcError{-32600, "bad", nullptr});
  CHECK(error == json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"bad"}})"));
  const json with_data = mcp::error_response(1, mcp::RpcError{-32022, "v", json{{"supported", {"x"}}}});
  CHECK(with_data["error"]["data"]["supported"][0] == "x");
  CHECK(mcp::is_error_response(with_data));
  CHECK(mcp::is_error_response(with_data, -32022));
  CHECK_FALSE(mcp::is_error_response(with_data, -32601));
  CHECK_FALSE(mcp::is_error_response(mcp::result_response(1, json::object())));
  CHECK(mcp::make_notification("notifications/x", nullptr) ==
        json::parse(R"({"jsonrpc":"2.0","method":"notifications/x"})"));
}

TEST_CASE("encoding replaces invalid UTF-8 instead of throwing") {
  const json message{{"text", std::string("ok \xff\xfe end")}};
  std::string encoded;
  REQUIRE_NOTHROW(encoded = mcp::encode(message));
  CHECK(encoded.find("ok ") != std::string::npos);
  CHECK(json::parse(encoded)["text"].get<std::string>().find("end") != std::string::npos);
}
