#include "runner/runner_limits.hpp"

#include <algorithm>

namespace runner {
namespace {

// A manifest only raises a limit: a toolchain that needs less than the
// default still gets the default, and an operator's default above its own
// maximum wins over the maximum.
template <typename T>
T raised(T current, const std::optional<T>& asked, T maximum) {
  if (!asked) return current;
  return std::max(current, std::min(*asked, maximum));
}

}  // namespace

config::RunLimits limits_for(const Manifest& manifest, const config::RunLimits& defaults) {
  config::RunLimits limits = defaults;
  limits.cpus = raised(defaults.cpus, manifest.limits.cpus, defaults.max_cpus);
  limits.memory_mb = raised(defaults.memory_mb, manifest.limits.memory_mb, defaults.max_memory_mb);
  limits.timeout_seconds = raised(defaults.timeout_seconds, manifest.limits.timeout_seconds, defaults.max_timeout_seconds);
  return limits;
}

}  // namespace runner
