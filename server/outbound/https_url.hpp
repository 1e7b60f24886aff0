#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace outbound {

/// Longest URL fetched: a client id is a short https URL, and the cache is keyed by it.
inline constexpr std::size_t kMaxUrlLength = 2048;

/// An https URL we are willing to fetch, taken apart.
struct HttpsUrl {
  std::string text;    ///< the URL exactly as given (what is requested, and what a cache is keyed by)
  std::string host;    ///< a DNS name in lower case, never an IP address in any notation
  std::uint16_t port = 443;
  std::string target;  ///< path and query, at least "/"
  /// "https://host:port", the port always written: what a test origin is compared with.
  [[nodiscard]] std::string origin() const { return "https://" + host + ":" + std::to_string(port); }
  /// The URL as requested: origin() + target, so the name in it is the one that was checked.
  [[nodiscard]] std::string request_url() const { return origin() + target; }
};

/// `text` as an HttpsUrl, or invalid_argument saying why not. Accepted: `https://` (lower case), a host
/// name of LDH labels (no IP literal in any form a resolver would take, core::parse_host_as_address, no trailing dot,
/// no percent-encoding), an optional port 1-65535, an optional path and query of printable ASCII.
/// Refused: userinfo (`user@`), a fragment, backslashes, spaces, control and non-ASCII characters,
/// and anything longer than kMaxUrlLength.
core::Result<HttpsUrl> parse_https_url(std::string_view text);

}  // namespace outbound
