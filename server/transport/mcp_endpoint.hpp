#pragma once

#include "http/router.hpp"
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "transport/auth.hpp"
#include "transport/client_limits.hpp"
#include "mcp/resources.hpp"
#include "mcp/tool.hpp"

namespace transport {

struct McpRuntime;

/// Settings of the MCP endpoint.
struct McpEndpointOptions {
  std::vector<std::string> api_tokens;       ///< accepted Bearer tokens; none: every request is 401
  TokenVerifier token_verifier;              ///< also accepts the OAuth server's access tokens when set
  Challenge challenge;                       ///< the 401's WWW-Authenticate (OAuth discovery) when set
  std::vector<std::string> allowed_origins;  ///< see OriginPolicy; empty: no Origin, or loopback/listen-address ones
  std::string server_version;                ///< serverInfo.version
  std::string instructions;                  ///< sent in initialize and server/discover when not empty
  std::chrono::seconds session_idle_timeout{3600};  ///< 2025 sessions idle this long are dropped
  std::size_t max_sessions = 1000;                  ///< beyond it new sessions get 503
  /// Open 2024-11-05 streams (GET /sse) beyond which new ones get 503. Each holds an HTTP worker
  /// for its whole life, so keep it well below the server's thread pool size.
  std::size_t max_legacy_streams = 32;
  std::chrono::milliseconds keepalive_interval{15000};  ///< comment on silent SSE streams this often
  ClientLimitOptions limits;                            ///< tool calls per token, wrong tokens per address
  metrics::Metrics* metrics = nullptr;                  ///< counts the 429s when set
  /// resources/* and their notifications (GET /mcp, legacy streams, subscriptions/listen); both must
  /// outlive the endpoint. Without a provider the server offers no resources.
  mcp::ResourceSupport resources;
};

/// Every MCP route of the server: POST/GET/DELETE /mcp (2025 Streamable HTTP and stateless
/// 2026-07-28 side by side), GET /sse and /mcp/events with POST /messages (2024-11-05 HTTP+SSE),
/// each behind the Origin check (403), the Bearer token check (401) and the client limits (429).
///
/// Each open SSE stream, and each call while it runs, holds one HTTP worker thread, so the server
/// needs a pool larger than the default and larger than max_legacy_streams plus the calls expected at
/// once (http::Server uses a WorkerPool capped at HTTP_THREADS).
class McpEndpoint {
 public:
  /// An endpoint serving `tools` (which must outlive it) with `options`.
  McpEndpoint(const mcp::ToolRegistry& tools, McpEndpointOptions options);
  /// Calls shutdown().
  ~McpEndpoint();
  McpEndpoint(const McpEndpoint&) = delete;
  McpEndpoint& operator=(const McpEndpoint&) = delete;

  /// Registers the MCP routes on `server` (before it listens).
  void mount(http::Router& routes);

  /// Graceful stop, before server.stop(): new MCP requests get 503, running calls are cancelled,
  /// every session ends and every stream closes, then the call threads are joined.
  void shutdown();

  /// Sessions open now (both session-era transports), for metrics.
  [[nodiscard]] std::size_t open_sessions() const;

  /// The token check with the failed-authentication limit, for other protected routes (/metrics):
  /// false with a 401 or a plain-text 429 written when the request may not go on.
  bool authenticate(http::Request& request, http::Response& response);

 private:
  std::shared_ptr<McpRuntime> m_runtime;
};

}  // namespace transport
