#include "transport/origin_policy.hpp"

#include "http/message.hpp"
#include <algorithm>
#include <array>
#include <cctype>

namespace transport {

namespace {

std::string lower(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

bool is_port(std::string_view text) {
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; })) {
    return false;
  }
  const int port = std::stoi(std::string(text));
  return port > 0 && port <= 65535;
}

}  // namespace

OriginPolicy::OriginPolicy(const std::vector<std::string>& allowed) {
  for (const auto& entry : allowed) {
    if (entry == "*") {
      m_any = true;
    } else if (auto normalized = normalize(entry)) {
      m_allowed.push_back(std::move(*normalized));
    }
  }
}

bool OriginPolicy::allowed(const http::Request& request) const {
  // A repeated Origin never gets here: the request parser refuses it (ambiguous).
  if (!request.has_header("Origin")) return true;  // not a browser's cross-site request
  return allowed_origin(request.header("Origin"), request.peer().local_address, request.peer().local_port);
}

bool OriginPolicy::allowed_origin(std::string_view origin, std::string_view local_address, int local_port) const {
  if (m_any) return true;
  const auto normalized = normalize(origin);
  if (!normalized) return false;  // "null" (sandboxed frames, file:) and anything odd
  if (!m_allowed.empty()) {
    return std::find(m_allowed.begin(), m_allowed.end(), *normalized) != m_allowed.end();
  }
  // Without a list, only pages served by this very host and port may call it: a rebound DNS name
  // never matches these, which is the point.
  const std::string port = std::to_string(local_port);
  std::string listen_host = lower(local_address);
  if (listen_host.find(':') != std::string::npos) listen_host = "[" + listen_host + "]";
  const std::array<std::string, 4> hosts{"localhost", "127.0.0.1", "[::1]", listen_host};
  for (const auto& scheme : {"http://", "https://"}) {
    for (const auto& host : hosts) {
      if (!host.empty() && *normalized == scheme + host + ":" + port) return true;
    }
  }
  return false;
}

void OriginPolicy::reject(http::Response& response) {
  response.status = 403;
  response.set_content("Forbidden: this Origin may not call the server\n", "text/plain");
}

std::optional<std::string> OriginPolicy::normalize(std::string_view origin) {
  const std::string text = lower(origin);
  std::string scheme;
  std::string default_port;
  if (text.rfind("http://", 0) == 0) {
    scheme = "http";
    default_port = "80";
  } else if (text.rfind("https://", 0) == 0) {
    scheme = "https";
    default_port = "443";
  } else {
    return std::nullopt;
  }
  const std::string authority = text.substr(scheme.size() + 3);
  if (authority.empty() || authority.find_first_of("/?#@ \t") != std::string::npos) return std::nullopt;
  std::string host = authority;
  std::string port = default_port;
  const auto bracket = authority.find(']');
  const auto colon = authority.rfind(':');
  if (authority.front() == '[') {
    if (bracket == std::string::npos) return std::nullopt;
    host = authority.substr(0, bracket + 1);
    if (bracket + 1 < authority.size()) {
      if (authority[bracket + 1] != ':') return std::nullopt;
      port = authority.substr(bracket + 2);
    }
  } else if (colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty() || !is_port(port)) return std::nullopt;
  return scheme + "://" + host + ":" + std::to_string(std::stoi(port));
}

}  // namespace transport
