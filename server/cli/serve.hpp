#pragma once

#include "config/config.hpp"
#include "docker/engine.hpp"

namespace cli {

/// Serves MCP over HTTP until SIGTERM or SIGINT. Refuses to start (exit 2)
/// without valid secrets; exit 1 when it cannot listen or prepare the sandbox.
int serve(const config::Config& config, docker::Engine& engine);

}  // namespace cli
