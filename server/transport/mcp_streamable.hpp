#pragma once

#include "http/message.hpp"
#include <nlohmann/json.hpp>

#include "transport/mcp_headers.hpp"
#include "transport/mcp_runtime.hpp"
#include "mcp/json_rpc.hpp"

namespace transport {

/// The /mcp endpoint: Streamable HTTP for the 2025 revisions (sessions with Mcp-Session-Id) and the
/// stateless 2026-07-28 revision side by side, told apart per POST by the body's _meta. Knows framing
/// and HTTP status codes, not methods: those are the dispatcher's.
class StreamableHttp {
 public:
  /// Serves with `runtime`, which must outlive this object.
  explicit StreamableHttp(McpRuntime& runtime) : m_runtime(runtime) {}

  /// POST /mcp: one JSON-RPC message (or a batch, where the session's revision allows one).
  void post(http::Request& request, http::Response& response, const Caller& caller);
  /// GET /mcp: the session's own stream of resource notifications (405 without a session or without
  /// resources; 404 for an ended session; 409 when it already has one; 503 over the stream cap).
  void get(http::Request& request, http::Response& response, const Caller& caller);
  /// DELETE /mcp: ends the session named by Mcp-Session-Id and stops its running requests.
  void remove(http::Request& request, http::Response& response, const Caller& caller);

 private:
  void post_stateless(http::Request& request, http::Response& response, const Caller& caller,
                      const McpHeaders& headers, const nlohmann::json& body, const Acceptable& accept);
  void post_session(http::Request& request, http::Response& response, const Caller& caller,
                    const McpHeaders& headers, const nlohmann::json& body, const Acceptable& accept);
  void initialize(http::Request& request, http::Response& response, const Caller& caller,
                  const mcp::Request& message, const Acceptable& accept);

  McpRuntime& m_runtime;
};

}  // namespace transport
