#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/registry.hpp"
#include "runner/run.hpp"
#include "sandbox/workspace.hpp"

namespace cli {

/// What a probe run found.
struct SandboxProbe {
  runner::RunOutcome outcome;  ///< the probe run; its stdout is the caller's script's output
  std::string problem;         ///< why the sandbox root is unusable; empty when the marker came through
  std::optional<sandbox::VolumeUsage> volume;  ///< the probe workspace's quota volume, when quotas are on
  bool observed = false;  ///< the observer was called (the run lasted past its first progress tick)
};

/// Looks at the probe container from outside while it runs: called once, on
/// the run's first progress tick (about a second in), with the container's id
/// and this process's path of the run's /data.
using ProbeObserver = std::function<void(const std::string& container_id, const std::filesystem::path& data_dir)>;

/// The one test that the sandbox root works end to end: runs `script` with the
/// bash runner in a throwaway workspace, then the run writes a random marker
/// into /data and we look for it under SANDBOX_ROOT. It only shows up when the
/// root is writable here and the engine bind-mounts the same directory
/// (SANDBOX_HOST_PATH). `doctor` adds its limits probe as `script`; `serve`
/// runs it with an empty script before it listens.
/// With quotas on, the probe workspace is a quota volume, so the marker also
/// proves the engine sees our mounts; a failed probe mount is an error (no
/// silent fallback to unenforced directories).
/// `observe`, when set, is called while the run runs (see ProbeObserver);
/// the script must last long enough for it.
/// Errors: the root, the quota volume or the workspace cannot be made, there
/// is no bash runner, or the run could not happen.
core::Result<SandboxProbe> probe_sandbox(const config::Config& config, docker::Engine& engine,
                                         const runner::Registry& registry, std::string_view script,
                                         const ProbeObserver& observe = {});

/// The test that a started container can be lent to another conversation here
/// (ExecutorOptions::data_follows_mounts): starts a bash container on one
/// throwaway directory with slave propagation at /data, attaches a second one
/// holding a random marker on it, and runs `cat` of the marker through the
/// executor's lending path. It fails (saying why) where the engine refuses the
/// bind (the sandbox root on a private mount), where the mount does not reach
/// the container (gVisor's kernel has its own view of the file system), and
/// where this process may not mount. share_mounts_under() must have run.
core::Result<void> probe_lending(const config::Config& config, docker::Engine& engine,
                                 const runner::Registry& registry);

}  // namespace cli
