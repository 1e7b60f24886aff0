#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "transport/auth.hpp"
#include "transport/client_limits.hpp"
#include "transport/mcp_tasks.hpp"
#include "transport/origin_policy.hpp"
#include "transport/session_store.hpp"
#include "mcp/dispatcher.hpp"

namespace transport {

/// What the MCP transports share: the dispatcher, the security checks, the sessions and the request
/// threads. Owned by McpEndpoint; tasks never hold it, so its destructor may join them.
struct McpRuntime {
  McpRuntime(const mcp::ToolRegistry& tools, mcp::ServerInfo info, BearerAuth bearer_auth,
             const std::vector<std::string>& allowed_origins, std::size_t max_sessions, std::size_t max_streams,
             std::chrono::seconds idle_timeout, std::chrono::milliseconds keepalive_interval,
             ClientLimitOptions limit_options = {}, metrics::Metrics* metrics = nullptr,
             mcp::ResourceSupport resources = {})
      : dispatcher(tools, std::move(info), resources),
        auth(std::move(bearer_auth)),
        limits(auth, limit_options, metrics),
        origins(allowed_origins),
        sessions(max_sessions, max_streams, idle_timeout),
        keepalive(keepalive_interval) {}

  mcp::Dispatcher dispatcher;
  BearerAuth auth;
  ClientLimits limits;  ///< uses auth
  OriginPolicy origins;
  SessionStore sessions;  ///< declared before tasks: tasks may hold leases, so they must end first
  McpTasks tasks;
  std::chrono::milliseconds keepalive;
  std::atomic<bool> stopping{false};
};

}  // namespace transport
