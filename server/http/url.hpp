#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace http {

/// `text` with each %XX replaced by its byte; nullopt for a '%' not followed by two hex digits.
/// With `plus_is_space` (query strings, application/x-www-form-urlencoded) '+' is a space.
[[nodiscard]] std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space = false);

/// The decoded value of the first `name=value` pair in a query string, or nullopt when it is absent
/// or malformed.
[[nodiscard]] std::optional<std::string> query_value(std::string_view query, std::string_view name);

}  // namespace http
