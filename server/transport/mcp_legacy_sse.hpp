#pragma once

#include "http/message.hpp"
#include <memory>

#include "transport/mcp_runtime.hpp"

namespace transport {

/// The 2024-11-05 HTTP+SSE transport, still used by many deployed clients: GET opens a stream whose
/// first event names the endpoint to POST messages to; every answer and notification of the session
/// goes out on that stream. The session lives exactly as long as the stream.
class LegacySse {
 public:
  /// Serves with `runtime`; `runtime` must outlive this object and every stream it opened.
  explicit LegacySse(std::shared_ptr<McpRuntime> runtime) : m_runtime(std::move(runtime)) {}

  /// GET /sse (and /mcp/events): opens a session and its stream, starting with the `endpoint` event.
  void open(http::Request& request, http::Response& response, const Caller& caller);
  /// POST /messages?sessionId=…: 202 at once; the answer goes out on the session's stream.
  void post(http::Request& request, http::Response& response, const Caller& caller);

 private:
  std::shared_ptr<McpRuntime> m_runtime;
};

}  // namespace transport
