#pragma once

#include "http/message.hpp"
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace transport {

/// Checks `Authorization: Bearer <token>` against a set of accepted tokens (several allow rotation).
/// Only SHA-256 digests of the tokens are kept and compared in constant time, so neither the content
/// nor the length of a token leaks through timing. Thread-safe (immutable after construction).
class BearerAuth {
 public:
  /// Accepts any of `tokens`; empty entries are ignored, and with no tokens nothing is authorized.
  explicit BearerAuth(const std::vector<std::string>& tokens);

  /// Whether the request carries a well-formed `Authorization: Bearer` header with an accepted token.
  [[nodiscard]] bool authorized(const http::Request& request) const;

  /// Whether `header` (the Authorization value) names an accepted token; for callers without a request.
  [[nodiscard]] bool authorized_header(std::string_view header) const;

  /// A name for the request's token that is safe to log and to key limits by: hex of the first 8
  /// bytes of its SHA-256. Empty when the request is not authorized.
  [[nodiscard]] std::string token_id(const http::Request& request) const;

  /// Answers 401 with `WWW-Authenticate: Bearer` (RFC 6750) and a short plain-text body.
  void reject(http::Response& response) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  std::vector<Digest> m_digests;
};

}  // namespace transport
