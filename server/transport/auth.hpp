#pragma once

#include "http/message.hpp"
#include <array>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace transport {

/// Who a request acts for: one of the static tokens or a grant of the OAuth server. `id` keys the
/// rate limits, session ownership and the conversation index ("token:<digest>", "oauth:<grant>");
/// `name` is for logs. Neither ever contains a token.
struct Caller {
  std::string id;
  std::string name;
};

/// Checks an access token issued by another authority (the built-in OAuth server): whom it acts
/// for, or nullopt when it is not (or no longer) valid.
using TokenVerifier = std::function<std::optional<Caller>(std::string_view token)>;

/// The WWW-Authenticate value of a 401 for a request at `path`; `token_presented` when a token was
/// sent but not accepted.
using Challenge = std::function<std::string(std::string_view path, bool token_presented)>;

/// Checks `Authorization: Bearer <token>` against a set of accepted tokens (several allow rotation).
/// Only SHA-256 digests of the tokens are kept and compared in constant time, so neither the content
/// nor the length of a token leaks through timing. Thread-safe (immutable after construction).
class BearerAuth {
 public:
  /// Accepts any of `tokens` (empty entries are ignored) and whatever `verifier` accepts; with
  /// neither, nothing is authorized. `challenge` writes the 401's WWW-Authenticate (default: Bearer).
  explicit BearerAuth(const std::vector<std::string>& tokens, TokenVerifier verifier = {}, Challenge challenge = {});

  /// Whom the request's `Authorization: Bearer` token acts for; nullopt when there is none or it is
  /// not accepted. A static token's id is "token:" + hex of the first 8 bytes of its SHA-256.
  [[nodiscard]] std::optional<Caller> caller(const http::Request& request) const;

  /// Whether the request carries a well-formed `Authorization: Bearer` header with an accepted token.
  [[nodiscard]] bool authorized(const http::Request& request) const { return caller(request).has_value(); }

  /// Answers 401 with `WWW-Authenticate` (RFC 6750; with the OAuth server, RFC 9728's
  /// resource_metadata) and a short plain-text body.
  void reject(const http::Request& request, http::Response& response) const;

 private:
  using Digest = std::array<unsigned char, 32>;
  std::vector<Digest> m_digests;
  TokenVerifier m_verifier;
  Challenge m_challenge;
};

}  // namespace transport
