#pragma once

#include "http/message.hpp"
#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "transport/auth.hpp"
#include "core/rate_limit.hpp"
#include "metrics/metrics.hpp"

namespace transport {

struct ClientLimitOptions {
  int tool_calls_per_minute = 0;     ///< per token (bursts up to the same number); 0 = off
  int auth_failures_per_minute = 0;  ///< wrong tokens per peer address; 0 = off
};

/// The bearer-token check with its abuse limits. Wrong tokens are counted per peer address, and an
/// address over its budget gets 429 for every protected request (its token is not even checked, so
/// guessing gains nothing) until the bucket refills; other addresses are not affected. Tool calls
/// are counted per token, identified by a digest, never by the token itself. Thread-safe.
class ClientLimits {
 public:
  ClientLimits(const BearerAuth& auth, ClientLimitOptions options, metrics::Metrics* metrics = nullptr);

  /// Origin aside, whom `request` acts for if it may reach a protected route: nullopt with
  /// `response` written when it may not (429 + Retry-After while its address is limited, else 401).
  /// `json_rpc` picks a JSON-RPC error body for the 429 (MCP routes) over plain text. The token is
  /// checked once per request: pass the caller on rather than asking again.
  std::optional<Caller> authenticate(const http::Request& request, http::Response& response, bool json_rpc,
                                     core::RateClock::time_point now = core::RateClock::now());

  /// Takes the tool calls in `body` (a JSON-RPC message or batch) from the budget of `caller`
  /// (authenticate()'s): false with a 429 + Retry-After JSON-RPC error written when it is spent.
  bool admit_tool_calls(const http::Request& request, const Caller& caller, http::Response& response,
                        const nlohmann::json& body, core::RateClock::time_point now = core::RateClock::now());

 private:
  const BearerAuth& m_auth;
  metrics::Metrics* m_metrics;
  core::KeyedRateLimiter m_auth_failures;  ///< by peer address
  core::KeyedRateLimiter m_tool_calls;     ///< by token digest
};

/// The number of tool calls (tools/call requests, with an id) in a JSON-RPC message or batch.
std::size_t count_tool_calls(const nlohmann::json& body);

/// 429 Too Many Requests with `Retry-After`; the body a JSON-RPC error (id null, code -32029, the
/// wait in data.retryAfterSeconds) when `json_rpc`, else `message` as text.
void send_too_many_requests(const http::Request& request, http::Response& response,
                            std::chrono::seconds retry_after, const std::string& message, bool json_rpc);

}  // namespace transport
