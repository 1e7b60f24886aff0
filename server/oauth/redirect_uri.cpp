#include "oauth/redirect_uri.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace oauth {

namespace {

constexpr std::size_t kMaxRedirectUri = 512;

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool valid_scheme(std::string_view scheme) {
  if (scheme.empty() || std::isalpha(static_cast<unsigned char>(scheme[0])) == 0) return false;
  return std::all_of(scheme.begin(), scheme.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '-' || c == '.';
  });
}

// Schemes a browser runs, reads locally or hands to another protocol: never a redirect target.
bool dangerous_scheme(std::string_view scheme) {
  constexpr std::array<std::string_view, 12> kRefused = {"javascript", "data",   "vbscript", "file", "about", "blob",
                                                          "filesystem", "view-source", "ftp", "ws",   "wss",  "mailto"};
  return std::find(kRefused.begin(), kRefused.end(), scheme) != kRefused.end();
}

}  // namespace

std::optional<UriParts> parse_uri(std::string_view uri) {
  if (uri.empty() || uri.find('#') != std::string_view::npos) return std::nullopt;
  for (const unsigned char c : uri) {
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>') return std::nullopt;
  }
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || !valid_scheme(uri.substr(0, colon))) return std::nullopt;
  UriParts parts;
  parts.scheme = lower(uri.substr(0, colon));
  std::string_view after = uri.substr(colon + 1);
  if (after.substr(0, 2) != "//") {
    parts.rest = std::string(after);
    return parts;
  }
  after.remove_prefix(2);
  const auto authority_end = std::min(after.find_first_of("/?"), after.size());
  std::string_view authority = after.substr(0, authority_end);
  parts.rest = std::string(after.substr(authority_end));
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // userinfo: a classic phishing form
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    parts.host = lower(authority.substr(1, close - 1));
    const auto tail = authority.substr(close + 1);
    if (!tail.empty()) {
      if (tail.front() != ':') return std::nullopt;
      port = tail.substr(1);
    }
  } else {
    const auto port_colon = authority.rfind(':');
    parts.host = lower(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) port = authority.substr(port_colon + 1);
  }
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
      return std::nullopt;
    }
    parts.port = std::stoi(std::string(port));
    if (parts.port > 65535) return std::nullopt;
  }
  return parts;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8 written as a dotted quad: "127.evil.example" is a name, not a loopback address.
  in_addr address{};
  const std::string text(host);
  return inet_pton(AF_INET, text.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

OAuthResult<void> check_redirect_uri(std::string_view uri, std::string_view application_type) {
  const auto invalid = [&](const std::string& why) {
    return oauth_fail("invalid_redirect_uri", "redirect URI '" + std::string(uri.substr(0, 100)) + "': " + why);
  };
  if (uri.size() > kMaxRedirectUri) return invalid("longer than 512 characters");
  const auto parts = parse_uri(uri);
  if (!parts) return invalid("not an absolute URI without a fragment");
  if (parts->scheme == "https") {
    if (parts->host.empty()) return invalid("https needs a host");
    return {};
  }
  if (parts->scheme == "http") {
    if (!is_loopback_host(parts->host)) return invalid("http is allowed only to a loopback host (localhost, 127.0.0.1, [::1])");
    return {};
  }
  if (dangerous_scheme(parts->scheme)) return invalid("the scheme " + parts->scheme + ": is never a redirect target");
  if (application_type == "web") return invalid("a web client's redirect URI must be https (or http on loopback)");
  return {};
}

bool redirect_uri_matches(std::string_view registered, std::string_view presented) {
  if (registered == presented) return true;
  const auto a = parse_uri(registered);
  const auto b = parse_uri(presented);
  if (!a || !b || a->scheme != "http" || b->scheme != "http") return false;
  if (!is_loopback_host(a->host) || a->host != b->host) return false;
  return a->rest == b->rest;  // any port (RFC 8252 section 7.3), everything else the same
}

std::string redirect_destination(std::string_view uri) {
  const auto parts = parse_uri(uri);
  if (!parts) return std::string(uri.substr(0, 100));
  if (parts->host.empty()) return parts->scheme + ":";
  const std::string host = parts->host.find(':') != std::string::npos ? "[" + parts->host + "]" : parts->host;
  return parts->port >= 0 ? host + ":" + std::to_string(parts->port) : host;
}

}  // namespace oauth
