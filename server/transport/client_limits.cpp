#include "transport/client_limits.hpp"

#include "http/message.hpp"
#include <spdlog/spdlog.h>

#include <algorithm>

#include "transport/mcp_replies.hpp"
#include "mcp/json_rpc.hpp"

namespace transport {

namespace {

// JSON-RPC leaves -32000..-32099 to servers; MCP names no code for this, so: "429".
constexpr int kRateLimitedCode = -32029;

}  // namespace

ClientLimits::ClientLimits(const BearerAuth& auth, ClientLimitOptions options, metrics::Metrics* metrics)
    : m_auth(auth),
      m_metrics(metrics),
      m_auth_failures(options.auth_failures_per_minute),
      m_tool_calls(options.tool_calls_per_minute) {}

std::optional<Caller> ClientLimits::authenticate(const http::Request& request, http::Response& response,
                                                 bool json_rpc, core::RateClock::time_point now) {
  if (const auto blocked = m_auth_failures.check(request.peer().client, now); !blocked.allowed) {
    if (m_metrics != nullptr) m_metrics->rate_limited("auth_failures");
    send_too_many_requests(request, response, blocked.retry_after,
                           "Too many failed authentication attempts from this address; retry after " +
                               std::to_string(blocked.retry_after.count()) + " s",
                           json_rpc);
    return std::nullopt;
  }
  if (auto caller = m_auth.caller(request)) return caller;
  // Only a presented credential is a guess; a request without one is a client not set up yet.
  if (request.has_header("Authorization")) m_auth_failures.take(request.peer().client, now);
  log_refusal(request, 401, "missing or wrong bearer token");
  m_auth.reject(request, response);
  return std::nullopt;
}

bool ClientLimits::admit_tool_calls(const http::Request& request, const Caller& caller, http::Response& response,
                                    const nlohmann::json& body, core::RateClock::time_point now) {
  if (!m_tool_calls.enabled()) return true;
  const std::size_t calls = count_tool_calls(body);
  if (calls == 0) return true;
  const auto decision = m_tool_calls.take(caller.id, now, static_cast<double>(calls));
  if (decision.allowed) return true;
  if (m_metrics != nullptr) m_metrics->rate_limited("tool_calls");
  send_too_many_requests(request, response, decision.retry_after,
                         "Rate limit: too many tool calls with this token; retry after " +
                             std::to_string(decision.retry_after.count()) + " s",
                         true);
  return false;
}

std::size_t count_tool_calls(const nlohmann::json& body) {
  const auto is_call = [](const nlohmann::json& message) {
    return message.is_object() && message.contains("id") && message.value("method", nlohmann::json()) == "tools/call";
  };
  if (!body.is_array()) return is_call(body) ? 1 : 0;
  return static_cast<std::size_t>(std::count_if(body.begin(), body.end(), is_call));
}

void send_too_many_requests(const http::Request& request, http::Response& response,
                            std::chrono::seconds retry_after, const std::string& message, bool json_rpc) {
  if (json_rpc) {
    send_rpc_error(request, response, 429, nullptr,
                   mcp::RpcError{kRateLimitedCode, message, {{"retryAfterSeconds", retry_after.count()}}});
  } else {
    log_refusal(request, 429, message);
    response.status = 429;
    response.set_content(message + "\n", "text/plain");
  }
  response.set_header("Retry-After", std::to_string(retry_after.count()));
}

}  // namespace transport
