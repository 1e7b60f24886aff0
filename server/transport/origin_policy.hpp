#pragma once

#include "http/message.hpp"
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace transport {

/// Decides which browser origins may call the server: the defence against DNS rebinding that the
/// MCP transports require (a present, invalid Origin is 403). Thread-safe (immutable).
class OriginPolicy {
 public:
  /// Allows requests without an Origin header and origins equal to an entry of `allowed`
  /// (scheme://host[:port]; scheme and host compare case-insensitively, a default port may be left
  /// out); an entry "*" allows every origin. With `allowed` empty, the only origins allowed are
  /// loopback ones (localhost, 127.0.0.1, [::1]) or the listen address, on the port the request came in on.
  explicit OriginPolicy(const std::vector<std::string>& allowed);

  /// Whether the request's Origin header (if any) is allowed.
  [[nodiscard]] bool allowed(const http::Request& request) const;

  /// Whether `origin` is allowed for a request that arrived on `local_address`:`local_port`.
  [[nodiscard]] bool allowed_origin(std::string_view origin, std::string_view local_address, int local_port) const;

  /// Answers 403 with a short plain-text body.
  static void reject(http::Response& response);

  /// `origin` as "scheme://host:port" in lower case with the port always written, or nullopt when it
  /// is not an http(s) origin.
  [[nodiscard]] static std::optional<std::string> normalize(std::string_view origin);

 private:
  bool m_any = false;
  std::vector<std::string> m_allowed;  ///< normalized
};

}  // namespace transport
