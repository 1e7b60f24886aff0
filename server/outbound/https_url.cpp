#include "outbound/https_url.hpp"

#include <algorithm>
#include <cctype>

#include "core/address_policy.hpp"
#include "core/encoding.hpp"

namespace outbound {

namespace {

using core::ErrorKind;

constexpr std::string_view kScheme = "https://";
constexpr std::size_t kMaxHostLength = 253;
constexpr std::size_t kMaxLabelLength = 63;

tl::unexpected<core::Error> refuse(std::string_view text, const std::string& why) {
  return core::fail(ErrorKind::invalid_argument, "refused URL '" + core::printable(text, 120) + "': " + why);
}

bool is_ldh_label(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelLength || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return std::all_of(label.begin(), label.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
  });
}

// A name the resolver would read as an IPv4 address ("127.1", "0x7f000001", "2130706433"), or one
// ending in a number, which URL parsers in browsers also read as an address: never a host name.
bool looks_like_address(const std::string& host) {
  if (core::parse_host_as_address(host)) {
    return true;
  }
  const auto dot = host.rfind('.');
  const std::string_view last = dot == std::string::npos ? std::string_view(host) : std::string_view(host).substr(dot + 1);
  return std::all_of(last.begin(), last.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
}

}  // namespace

core::Result<HttpsUrl> parse_https_url(std::string_view text) {
  if (text.size() > kMaxUrlLength) {
    return refuse(text, "longer than " + std::to_string(kMaxUrlLength) + " characters");
  }
  if (!std::all_of(text.begin(), text.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; })) {
    return refuse(text, "only printable ASCII without spaces is accepted");
  }
  if (text.substr(0, kScheme.size()) != kScheme) {
    return refuse(text, "only https:// URLs are fetched");
  }
  if (text.find('#') != std::string_view::npos) {
    return refuse(text, "a fragment is not accepted");
  }
  if (text.find('\\') != std::string_view::npos) {
    return refuse(text, "backslashes are not accepted");
  }
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t authority_end = std::min(rest.find('/'), rest.find('?'));
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return refuse(text, "user information (user@host) is not accepted");
  }
  if (!authority.empty() && authority.front() == '[') {
    return refuse(text, "the host must be a name, not an IP address");
  }

  HttpsUrl url;
  url.text = std::string(text);
  std::string_view host = authority;
  if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view port = authority.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      return refuse(text, "the port must be a number from 1 to 65535");
    }
    const int value = std::stoi(std::string(port));
    if (value < 1 || value > 65535) {
      return refuse(text, "the port must be a number from 1 to 65535");
    }
    url.port = static_cast<std::uint16_t>(value);
  }
  if (host.empty()) {
    return refuse(text, "no host");
  }
  if (host.size() > kMaxHostLength) {
    return refuse(text, "the host name is longer than " + std::to_string(kMaxHostLength) + " characters");
  }
  url.host.reserve(host.size());
  for (const char ch : host) {
    url.host.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  }
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = url.host.find('.', start);
    const std::string_view label = std::string_view(url.host).substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!is_ldh_label(label)) {
      return refuse(text, "the host must be a DNS name of letters, digits, hyphens and dots");
    }
    if (dot == std::string::npos) {
      break;
    }
    start = dot + 1;
  }
  if (looks_like_address(url.host)) {
    return refuse(text, "the host must be a name, not an IP address");
  }
  url.target = authority_end == std::string_view::npos ? "/" : std::string(rest.substr(authority_end));
  if (url.target.front() == '?') {
    url.target.insert(url.target.begin(), '/');
  }
  return url;
}

}  // namespace outbound
