#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "docker/engine.hpp"

namespace docker {

/// How to reach the engine and how long to wait for it.
struct EngineOptions {
  /// DOCKER_HOST-style endpoint: unix:///path, tcp://host:port or http://host:port.
  std::string host = "unix:///var/run/docker.sock";
  /// Longest wait for a connection to the engine.
  std::chrono::milliseconds connect_timeout{2000};
  /// Deadline of every call except wait_container, which gets its own.
  std::chrono::milliseconds call_timeout{30000};
  /// Deadline of ping() (readiness checks): short, so /readyz says "engine down" within seconds.
  std::chrono::milliseconds ping_timeout{2000};
};

/// Connects to the engine at `options.host`, pings it and settles the API version (the engine's newest,
/// capped at kNewestApi); `invalid_argument` for a malformed host, `unavailable`/`timeout` when no
/// usable engine answers. The returned Engine is safe to use from several threads at once.
core::Result<std::unique_ptr<Engine>> connect_engine(const EngineOptions& options);

}  // namespace docker
