#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace runner {

/// What an OCI runtime itself takes of each run's limits, because its own
/// processes live in the run's cgroup. runc takes nothing worth counting;
/// gVisor's user-space kernel (runsc) is charged its memory and threads.
/// Figures measured with Debian's runsc on docker 20.10 (docs/limits.md,
/// "Under gVisor"); they are approximate and grow a little with each
/// process the program starts.
struct RuntimeShare {
  std::int64_t memory_mb = 0;
  std::int64_t pids = 0;
};

/// The share of `runtime` ("" = the engine's default, taken to be runc), or
/// none when the runtime takes nothing worth stating.
inline std::optional<RuntimeShare> runtime_share(std::string_view runtime) {
  if (runtime == "runsc") return RuntimeShare{40, 64};
  return std::nullopt;
}

}  // namespace runner
