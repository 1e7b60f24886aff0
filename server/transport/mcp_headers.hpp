#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "mcp/json_rpc.hpp"

namespace transport {

/// Which kinds of response body a client's Accept header allows.
struct Acceptable {
  bool json = true;  ///< application/json
  bool sse = true;   ///< text/event-stream
};

/// Reads an Accept header; an absent or empty one accepts anything (curl and many scripts send none).
[[nodiscard]] Acceptable parse_accept(std::string_view accept);

/// Whether a Content-Type is application/json (parameters such as charset allowed).
[[nodiscard]] bool is_json_content_type(std::string_view content_type);

/// Decodes an Mcp-Name (or Mcp-Param-*) value: plain visible ASCII as it is, `=?base64?...?=` decoded;
/// nullopt for forbidden characters or bad base64.
[[nodiscard]] std::optional<std::string> decode_mcp_header_value(std::string_view value);

/// The MCP headers of one POST.
struct McpHeaders {
  std::optional<std::string> protocol_version;  ///< MCP-Protocol-Version
  std::optional<std::string> method;            ///< Mcp-Method
  std::optional<std::string> name;              ///< Mcp-Name, as sent
};

/// A request refused before it reaches the dispatcher: the HTTP status and the JSON-RPC error to send.
struct Rejection {
  int status = 400;
  mcp::RpcError error;
  nlohmann::json id;  ///< the request's id when it has one, so the client can match the error
};

/// Which era serves a POSTed body.
enum class Era { session, stateless };

/// Routes a POST body between the eras, as a dual-era server must: a message whose params._meta
/// claims a protocol version is stateless; initialize without such a claim, and everything else
/// without one, belong to sessions. The MCP-Protocol-Version header only cross-checks: a stateless
/// header on initialize is -32020, on a request without the _meta envelope -32602; a batch holding a
/// stateless message is -32600.
[[nodiscard]] std::variant<Era, Rejection> route_post(const McpHeaders& headers, const nlohmann::json& body);

/// The 2026-07-28 header rules for a stateless request: MCP-Protocol-Version and Mcp-Method present and
/// equal to the body, Mcp-Name present and equal to params.name (or params.uri) for the methods that
/// name something. Any failure is 400 with -32020 (HeaderMismatch). Call after claimed_version() is known.
[[nodiscard]] std::optional<Rejection> check_stateless_headers(const McpHeaders& headers, const mcp::Request& request,
                                                               std::string_view claimed_version);

}  // namespace transport
