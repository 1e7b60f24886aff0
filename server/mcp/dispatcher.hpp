#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <tl/expected.hpp>

#include "mcp/envelope.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/logging_level.hpp"
#include "mcp/protocol_version.hpp"
#include "mcp/resources.hpp"
#include "mcp/session.hpp"
#include "mcp/tool.hpp"

namespace mcp {

/// Who this server says it is in initialize, server/discover and result _meta.
struct ServerInfo {
  std::string name = "mcp-sandbox";
  std::string version;
  std::string instructions;  ///< empty: not sent
};

/// Everything one request needs besides its message; filled in by the transport.
struct RequestContext {
  const Revision* revision = nullptr;  ///< the revision the request speaks; never null
  Session* session = nullptr;          ///< its session (session era); null for stateless requests
  std::optional<LogLevel> log_level;   ///< stateless requests: _meta logLevel (sessions keep their own)
  std::stop_token stop;                ///< stops on cancellation, a closed stream or shutdown
  Outbound notify;                     ///< where progress and log notifications go; empty drops them
  std::string caller;                  ///< who sends it (ToolContext::caller); a session's own when empty
};

/// Knows the MCP methods of every revision and nothing of framing or transports: each request gets
/// exactly one response object back. Thread-safe (const); the tools must outlive it.
class Dispatcher {
 public:
  /// A dispatcher for `tools` that introduces itself as `info`; with a resource provider it offers
  /// resources/* too, and with resource events their notifications. All must outlive it.
  Dispatcher(const ToolRegistry& tools, ServerInfo info, ResourceSupport resources = {});

  /// Answers one request (a result or an error, never nothing) and logs one line about it.
  [[nodiscard]] json answer(const Request& request, const RequestContext& context) const;

  /// Applies a client notification (notifications/initialized, notifications/cancelled); others are ignored.
  void apply(const Notification& notification, Session* session) const;

  /// The context of a stateless (2026-07-28) request described by `envelope`.
  [[nodiscard]] static RequestContext stateless_context(const RequestEnvelope& envelope, std::stop_token stop,
                                                        Outbound notify);

  /// Who this server is.
  [[nodiscard]] const ServerInfo& info() const { return m_info; }

  /// Where resource changes are announced; null when this server has no resource notifications.
  [[nodiscard]] ResourceEvents* resource_events() const { return m_resources.provider ? m_resources.events : nullptr; }

 private:
  tl::expected<json, RpcError> run(const Request& request, const RequestContext& context) const;
  tl::expected<json, RpcError> initialize(const json& params, Session* session) const;
  tl::expected<json, RpcError> discover() const;
  tl::expected<json, RpcError> list(const Request& request, const RequestContext& context) const;
  tl::expected<json, RpcError> call(const Request& request, const RequestContext& context) const;
  tl::expected<json, RpcError> listen(const Request& request, const RequestContext& context) const;
  static ResourceScope resource_scope(const RequestContext& context);
  /// Who sends the request: its own caller, else its session's.
  static std::string caller_of(const RequestContext& context);
  json capabilities() const;
  json implementation() const;

  const ToolRegistry& m_tools;
  ServerInfo m_info;
  ResourceSupport m_resources;
};

}  // namespace mcp
