#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace docker {

/// Where the engine listens, in the terms libcurl needs.
struct DockerHost {
  std::string unix_socket;  ///< socket path for unix hosts; empty for TCP
  std::string base_url;     ///< scheme://host[:port] every request path is appended to
  std::string display;      ///< the endpoint as the user wrote it, for messages
};

/// The socket a bare "unix://" or an empty endpoint means.
inline constexpr std::string_view kDefaultUnixSocket = "/var/run/docker.sock";

/// Parses a DOCKER_HOST-style endpoint (`unix:///path`, `tcp://host:port`,
/// `http://host:port`; empty means the default socket); anything else, TLS
/// and ssh included, is `invalid_argument` naming what is supported.
core::Result<DockerHost> parse_docker_host(std::string_view endpoint);

}  // namespace docker
