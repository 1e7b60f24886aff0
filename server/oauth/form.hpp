#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace oauth {

/// The parameters of a query string or an application/x-www-form-urlencoded body. nullopt when one
/// is malformed or appears twice: OAuth refuses repeated parameters (RFC 6749 section 3.1), and a
/// value read from the first copy by one check and the second by another is a classic confusion.
[[nodiscard]] std::optional<std::map<std::string, std::string>> parse_form(std::string_view text);

/// The value of `name`, or "" when absent.
[[nodiscard]] std::string form_value(const std::map<std::string, std::string>& form, const std::string& name);

}  // namespace oauth
