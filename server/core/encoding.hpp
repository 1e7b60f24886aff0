#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace core {

/// Standard base64 (RFC 4648) with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard base64; padding optional, whitespace ignored.
/// Returns nullopt for any other character or a malformed length.
std::optional<std::string> base64_decode(std::string_view text);

/// True when `text` is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

}  // namespace core
