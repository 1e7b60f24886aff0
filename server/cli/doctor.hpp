#pragma once

#include <iosfwd>
#include <memory>

#include "config/config.hpp"
#include "core/error.hpp"
#include "docker/engine.hpp"

namespace cli {

/// Checks that this machine can serve: engine reachable, runner images present,
/// limits enforced by a probe run, sandbox root writable and visible to the
/// engine, secrets set. Prints one line per check (with how to fix a failure)
/// and returns 0 only when every check holds.
int doctor(const config::Config& config, const core::Result<std::unique_ptr<docker::Engine>>& engine,
           std::ostream& out);

}  // namespace cli
