#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "outbound/resolved_host.hpp"

namespace outbound {

/// What one outbound fetch may cost.
struct Limits {
  std::size_t max_bytes = 64 * 1024;  ///< body bytes, counted while receiving; the transfer stops beyond
  /// The whole fetch: connect, TLS, headers, body, and the time the name took to resolve (a lookup
  /// itself runs as long as the system resolver lets it; the fetch fails at once if it took longer).
  std::chrono::milliseconds total{5000};
  std::chrono::milliseconds connect{2000};  ///< TCP connect and TLS handshake
};

/// How a fetch is made: its limits, the test origin (never set outside tests) and the resolver.
struct FetchOptions {
  Limits limits;
  std::optional<TestOrigin> test_origin;
  Resolver resolver = system_resolver();
};

/// A fetched JSON document and how long its server said it may be kept (Cache-Control max-age;
/// zero for no-store or no-cache, nullopt when it said nothing).
struct JsonDocument {
  nlohmann::json body;
  std::optional<std::chrono::seconds> max_age;
};

/// GETs `url` once, safely when anyone on the internet chose it: an https URL with a host name
/// (parse_https_url), resolved once and refused unless every address is public (resolve_public),
/// connected to exactly those addresses (libcurl never resolves the name again, and a connection to
/// any other address is refused), TLS verified against the system CAs (the test origin: its CA),
/// no proxy, no redirect (a 3xx is an error), no compression, at most `limits`. The answer must be
/// 200 with Content-Type application/json or application/<x>+json and a JSON object as its body.
/// Errors: invalid_argument (refused URL or address, redirect, other status, content type, size,
/// not a JSON object), timeout (a limit of time), unavailable (no answer: DNS, connect, TLS).
core::Result<JsonDocument> fetch_json(const std::string& url, const FetchOptions& options);

}  // namespace outbound
