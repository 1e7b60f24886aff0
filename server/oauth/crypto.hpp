#pragma once

#include <string>
#include <string_view>

namespace oauth {

/// base64url without padding (RFC 4648 section 5), as PKCE and tokens use it.
[[nodiscard]] std::string base64url(std::string_view bytes);

/// A new secret: `bytes` random bytes as base64url (32 bytes: 43 characters, 256 bits).
[[nodiscard]] std::string random_token(std::size_t bytes = 32);

/// SHA-256 of `text` as 64 lower-case hex digits: how tokens, codes and secrets are stored.
[[nodiscard]] std::string sha256_hex(std::string_view text);

/// The raw 32-byte SHA-256 of `text`.
[[nodiscard]] std::string sha256(std::string_view text);

/// HMAC-SHA256 of `message` under `key`, as hex.
[[nodiscard]] std::string hmac_hex(std::string_view key, std::string_view message);

/// Whether `a` and `b` are equal, in time that depends only on their lengths.
[[nodiscard]] bool same_secret(std::string_view a, std::string_view b);

}  // namespace oauth
