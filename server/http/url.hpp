#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace http {

/// A plain decimal number (1*DIGIT, as Content-Length and byte ranges are written) within 64 bits;
/// nullopt for anything else (signs, spaces, hex, more than 19 digits).
[[nodiscard]] std::optional<std::uint64_t> parse_decimal(std::string_view text);

/// `text` without the optional whitespace (spaces and tabs, RFC 9110 5.6.3) around it.
[[nodiscard]] std::string_view trim_ows(std::string_view text);

/// The decoded value of the first `name=value` pair in a query string, or nullopt when it is absent
/// or malformed.
[[nodiscard]] std::optional<std::string> query_value(std::string_view query, std::string_view name);

}  // namespace http
