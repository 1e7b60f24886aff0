#include "transport/mcp_endpoint.hpp"

#include "http/router.hpp"
#include <functional>
#include <utility>

#include "transport/mcp_legacy_sse.hpp"
#include "transport/mcp_replies.hpp"
#include "transport/mcp_runtime.hpp"
#include "transport/mcp_streamable.hpp"

namespace transport {

namespace {

using Handler = http::Handler;
/// A protected route's handler, told whom the request acts for.
using CallerHandler = std::function<void(http::Request&, http::Response&, const Caller&)>;

// Origin first: a page from a foreign origin gets 403 whether or not it has a token, so a DNS
// rebinding attack learns nothing about the token check.
Handler guarded(const std::shared_ptr<McpRuntime>& runtime, CallerHandler handler) {
  return [runtime, handler = std::move(handler)](http::Request& request, http::Response& response) {
    if (!runtime->origins.allowed(request)) {
      log_refusal(request, 403, "Origin not allowed");
      OriginPolicy::reject(response);
      return;
    }
    const auto caller = runtime->limits.authenticate(request, response, /*json_rpc=*/true);
    if (!caller) return;
    handler(request, response, *caller);
  };
}

}  // namespace

McpEndpoint::McpEndpoint(const mcp::ToolRegistry& tools, McpEndpointOptions options)
    : m_runtime(std::make_shared<McpRuntime>(
          tools, mcp::ServerInfo{"mcp-sandbox", options.server_version, options.instructions},
          BearerAuth(options.api_tokens, std::move(options.token_verifier), std::move(options.challenge)),
          options.allowed_origins, options.max_sessions, options.max_legacy_streams, options.session_idle_timeout,
          options.keepalive_interval, options.limits, options.metrics, options.resources)) {}

McpEndpoint::~McpEndpoint() { shutdown(); }

void McpEndpoint::mount(http::Router& routes) {
  // The handlers keep the runtime and the transports alive for as long as the server holds them.
  auto streamable = std::make_shared<StreamableHttp>(*m_runtime);
  auto legacy = std::make_shared<LegacySse>(m_runtime);
  const auto& rt = m_runtime;
  routes.add("POST", "/mcp", guarded(rt, [streamable](auto& q, auto& r, auto& c) { streamable->post(q, r, c); }));
  routes.add("GET", "/mcp", guarded(rt, [streamable](auto& q, auto& r, auto& c) { streamable->get(q, r, c); }));
  routes.add("DELETE", "/mcp", guarded(rt, [streamable](auto& q, auto& r, auto& c) { streamable->remove(q, r, c); }));
  routes.add("GET", "/sse", guarded(rt, [legacy](auto& q, auto& r, auto& c) { legacy->open(q, r, c); }));
  routes.add("GET", "/mcp/events", guarded(rt, [legacy](auto& q, auto& r, auto& c) { legacy->open(q, r, c); }));
  routes.add("POST", "/messages", guarded(rt, [legacy](auto& q, auto& r, auto& c) { legacy->post(q, r, c); }));
}

void McpEndpoint::shutdown() {
  if (m_runtime->stopping.exchange(true)) return;
  m_runtime->sessions.close_all();  // stops session calls and ends the 2024-11-05 streams
  m_runtime->tasks.shutdown();      // stops stateless calls, then joins every call thread
}

std::size_t McpEndpoint::open_sessions() const { return m_runtime->sessions.size(); }

bool McpEndpoint::authenticate(http::Request& request, http::Response& response) {
  return m_runtime->limits.authenticate(request, response, /*json_rpc=*/false).has_value();
}

}  // namespace transport
