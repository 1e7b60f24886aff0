#include "docker/docker_host.hpp"

#include <algorithm>
#include <charconv>

namespace docker {

namespace {

using core::ErrorKind;

// Docker's own default for a tcp:// endpoint without a port (plain HTTP).
constexpr std::string_view kDefaultTcpPort = "2375";

core::Error unsupported(std::string_view endpoint, std::string_view why) {
  return core::Error{ErrorKind::invalid_argument,
                     "unsupported Docker host \"" + std::string(endpoint) + "\": " + std::string(why) +
                         " (supported: unix:///path/to/docker.sock, tcp://host:port, http://host:port)"};
}

bool valid_port(std::string_view port) {
  int value = 0;
  const auto* end = port.data() + port.size();
  const auto [ptr, ec] = std::from_chars(port.data(), end, value);
  return ec == std::errc{} && ptr == end && value > 0 && value <= 65535;
}

bool valid_host_name(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
           c == '_';
  });
}

bool valid_ipv6_literal(std::string_view host) {
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
  });
}

core::Result<DockerHost> parse_unix(std::string_view endpoint, std::string_view path) {
  if (path.empty()) {
    path = kDefaultUnixSocket;
  }
  if (path.front() != '/') {
    return core::fail(unsupported(endpoint, "the socket path must be absolute"));
  }
  // The host part of the URL is never resolved for a unix socket; it only fills the Host header.
  return DockerHost{std::string(path), "http://localhost", std::string(endpoint)};
}

core::Result<DockerHost> parse_tcp(std::string_view endpoint, std::string_view authority) {
  if (!authority.empty() && authority.back() == '/') {
    authority.remove_suffix(1);
  }
  if (authority.find('/') != std::string_view::npos) {
    return core::fail(unsupported(endpoint, "a path after host:port is not supported"));
  }
  if (authority.find('@') != std::string_view::npos) {
    return core::fail(unsupported(endpoint, "credentials in the address are not supported"));
  }
  std::string_view host;
  std::string_view port = kDefaultTcpPort;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos || !valid_ipv6_literal(authority.substr(1, close - 1))) {
      return core::fail(unsupported(endpoint, "malformed IPv6 address"));
    }
    host = authority.substr(0, close + 1);
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return core::fail(unsupported(endpoint, "malformed IPv6 address"));
      }
      port = rest.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
    }
    if (!valid_host_name(host)) {
      return core::fail(unsupported(endpoint, "missing or malformed host name"));
    }
  }
  if (!valid_port(port)) {
    return core::fail(unsupported(endpoint, "the port must be a number from 1 to 65535"));
  }
  return DockerHost{"", "http://" + std::string(host) + ":" + std::string(port), std::string(endpoint)};
}

}  // namespace

core::Result<DockerHost> parse_docker_host(std::string_view endpoint) {
  if (endpoint.empty()) {
    return parse_unix("unix://" + std::string(kDefaultUnixSocket), kDefaultUnixSocket);
  }
  const auto separator = endpoint.find("://");
  if (separator == std::string_view::npos) {
    return core::fail(unsupported(endpoint, "missing scheme"));
  }
  const auto scheme = endpoint.substr(0, separator);
  const auto rest = endpoint.substr(separator + 3);
  if (scheme == "unix") {
    return parse_unix(endpoint, rest);
  }
  if (scheme == "tcp" || scheme == "http") {
    return parse_tcp(endpoint, rest);
  }
  if (scheme == "https") {
    return core::fail(unsupported(endpoint, "TLS is not supported"));
  }
  return core::fail(unsupported(endpoint, "scheme \"" + std::string(scheme) + "\" is not supported"));
}

}  // namespace docker
