#include "http/url.hpp"

#include <algorithm>

#include "core/encoding.hpp"

namespace http {

std::optional<std::uint64_t> parse_decimal(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;  // 19 digits always fit in 64 bits
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  std::size_t start = 0;
  while (start <= query.size()) {
    const auto end = std::min(query.find('&', start), query.size());
    const auto pair = query.substr(start, end - start);
    const auto equals = pair.find('=');
    const auto key = core::percent_decode(pair.substr(0, equals), true);
    if (key && *key == name) {
      return equals == std::string_view::npos ? std::optional<std::string>("")
                                              : core::percent_decode(pair.substr(equals + 1), true);
    }
    start = end + 1;
  }
  return std::nullopt;
}

}  // namespace http
