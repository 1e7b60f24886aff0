#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <variant>

namespace mcp {

using nlohmann::json;

/// JSON-RPC 2.0 error codes, plus the ones MCP 2026-07-28 reserves in -32020..-32099.
namespace error_code {
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;
inline constexpr int header_mismatch = -32020;
inline constexpr int missing_client_capability = -32021;
inline constexpr int unsupported_protocol_version = -32022;
}  // namespace error_code

/// A JSON-RPC error object before it is put into a response.
struct RpcError {
  int code = error_code::internal_error;
  std::string message;
  json data;  ///< null: the response has no `data` member
};

/// A request: it has an id and expects exactly one response.
struct Request {
  json id;  ///< a string or a number, echoed exactly as sent
  std::string method;
  json params;  ///< an object or an array; null when the message had none
};

/// A notification: no id, never answered.
struct Notification {
  std::string method;
  json params;
};

/// A response the client sent (to a server request); this server sends none, so these are ignored.
struct ClientResponse {
  json id;
};

/// Something that is not a valid JSON-RPC message; `error` is what to answer with `id`.
struct InvalidMessage {
  json id;  ///< null when no usable id could be read
  RpcError error;
};

using Message = std::variant<Request, Notification, ClientResponse, InvalidMessage>;

/// Where the server-to-client messages that belong to one request (progress, log) go while it runs.
/// Called from the thread running the request; an empty function drops them.
using Outbound = std::function<void(const json& message)>;

/// Whether `value` may be a request id under MCP: a string or a number (JSON-RPC's null is not allowed).
[[nodiscard]] bool is_request_id(const json& value);

/// Classifies one decoded JSON value as a JSON-RPC 2.0 message.
[[nodiscard]] Message parse_message(const json& value);

/// Decodes a message body; invalid JSON or nesting deeper than `max_depth` is a -32700 error.
[[nodiscard]] tl::expected<json, RpcError> decode(std::string_view text, std::size_t max_depth = 64);

/// Serialises a message for the wire; invalid UTF-8 in strings is replaced instead of throwing.
[[nodiscard]] std::string encode(const json& message);

/// `{"jsonrpc":"2.0","id":id,"result":result}`.
[[nodiscard]] json result_response(const json& id, json result);

/// `{"jsonrpc":"2.0","id":id,"error":{code,message[,data]}}`.
[[nodiscard]] json error_response(const json& id, const RpcError& error);

/// `{"jsonrpc":"2.0","method":method[,"params":params]}`.
[[nodiscard]] json make_notification(std::string_view method, json params);

/// Whether a response object carries an error (and, if `code` is given, that error code).
[[nodiscard]] bool is_error_response(const json& response, int code = 0);

}  // namespace mcp
