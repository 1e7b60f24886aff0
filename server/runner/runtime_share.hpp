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
  std::int64_t memory_mb = 0;        ///< charged whatever the program does
  std::int64_t pids = 0;             ///< the runtime's own threads
  std::int64_t pids_per_thread = 1;  ///< host threads per thread (or process) of the program
};

/// How many threads and processes a program can have under `pids_limit`.
inline std::int64_t program_threads(const RuntimeShare& share, std::int64_t pids_limit) {
  return pids_limit > share.pids ? (pids_limit - share.pids) / share.pids_per_thread : 0;
}

/// The share of `runtime` ("" = the engine's default, taken to be runc), or
/// none when the runtime takes nothing worth stating.
inline std::optional<RuntimeShare> runtime_share(std::string_view runtime) {
  // gVisor (ptrace platform): ~15 MiB for its kernel; ~40 threads of its own
  // and ~7 host threads for each thread of the program, rounded up because a
  // fork needs headroom (a program at the edge has its sandbox fail).
  if (runtime == "runsc") return RuntimeShare{16, 48, 8};
  return std::nullopt;
}

}  // namespace runner
