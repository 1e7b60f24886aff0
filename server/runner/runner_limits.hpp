#pragma once

#include "config/config.hpp"
#include "runner/manifest.hpp"

namespace runner {

/// The limits a run of this runner gets: the operator's defaults, raised to
/// what the manifest asks for but never beyond the operator's maxima
/// (RUNNER_MAX_*), and never lowered below the defaults.
config::RunLimits limits_for(const Manifest& manifest, const config::RunLimits& defaults);

}  // namespace runner
