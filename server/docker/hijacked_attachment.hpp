#pragma once

// Internal to the docker module: the attach endpoint's hijacked connection.

#include <chrono>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "docker/docker_host.hpp"
#include "docker/engine.hpp"

namespace docker {

/// Connects to `host`, sends POST `path` asking to upgrade the connection to a raw stream, and returns
/// the stream once the engine agrees (101, or 200 from old engines); the handshake must end by `deadline`.
/// Any other answer is mapped like a normal call (engine_error), with the engine's message.
core::Result<std::unique_ptr<Attachment>> open_hijacked_attachment(const DockerHost& host,
                                                                   std::chrono::milliseconds connect_timeout,
                                                                   const std::string& path,
                                                                   Clock::time_point deadline);

}  // namespace docker
