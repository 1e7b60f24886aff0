#include "http/mcp_endpoint.hpp"

#include <httplib.h>

#include <functional>
#include <utility>

#include "http/mcp_legacy_sse.hpp"
#include "http/mcp_replies.hpp"
#include "http/mcp_runtime.hpp"
#include "http/mcp_streamable.hpp"

namespace http {

namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// Origin first: a page from a foreign origin gets 403 whether or not it has a token, so a DNS
// rebinding attack learns nothing about the token check.
Handler guarded(const std::shared_ptr<McpRuntime>& runtime, Handler handler) {
  return [runtime, handler = std::move(handler)](const httplib::Request& request, httplib::Response& response) {
    if (!runtime->origins.allowed(request)) {
      log_refusal(request, 403, "Origin not allowed");
      OriginPolicy::reject(response);
      return;
    }
    if (!runtime->limits.authenticate(request, response, /*json_rpc=*/true)) return;
    handler(request, response);
  };
}

}  // namespace

McpEndpoint::McpEndpoint(const mcp::ToolRegistry& tools, McpEndpointOptions options)
    : m_runtime(std::make_shared<McpRuntime>(
          tools, mcp::ServerInfo{"mcp-sandbox", options.server_version, options.instructions}, options.api_tokens,
          options.allowed_origins, options.max_sessions, options.max_legacy_streams, options.session_idle_timeout,
          options.keepalive_interval, options.limits, options.metrics)) {}

McpEndpoint::~McpEndpoint() { shutdown(); }

void McpEndpoint::mount(httplib::Server& server) {
  // The handlers keep the runtime and the transports alive for as long as the server holds them.
  auto streamable = std::make_shared<StreamableHttp>(*m_runtime);
  auto legacy = std::make_shared<LegacySse>(m_runtime);
  const auto& rt = m_runtime;
  server.Post("/mcp", guarded(rt, [streamable](const auto& q, auto& r) { streamable->post(q, r); }));
  server.Get("/mcp", guarded(rt, [streamable](const auto& q, auto& r) { streamable->get(q, r); }));
  server.Delete("/mcp", guarded(rt, [streamable](const auto& q, auto& r) { streamable->remove(q, r); }));
  server.Get("/sse", guarded(rt, [legacy](const auto& q, auto& r) { legacy->open(q, r); }));
  server.Get("/mcp/events", guarded(rt, [legacy](const auto& q, auto& r) { legacy->open(q, r); }));
  server.Post("/messages", guarded(rt, [legacy](const auto& q, auto& r) { legacy->post(q, r); }));
}

void McpEndpoint::shutdown() {
  if (m_runtime->stopping.exchange(true)) return;
  m_runtime->sessions.close_all();  // stops session calls and ends the 2024-11-05 streams
  m_runtime->tasks.shutdown();      // stops stateless calls, then joins every call thread
}

std::size_t McpEndpoint::open_sessions() const { return m_runtime->sessions.size(); }

const BearerAuth& McpEndpoint::auth() const { return m_runtime->auth; }

bool McpEndpoint::authenticate(const httplib::Request& request, httplib::Response& response) {
  return m_runtime->limits.authenticate(request, response, /*json_rpc=*/false);
}

}  // namespace http
