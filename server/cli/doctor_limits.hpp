#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "docker/types.hpp"

/// Doctor's judgement of a probe run's limits, kept pure so every runtime's
/// evidence (runc's cgroup files, gVisor's none, cgroup v1 and v2) can be
/// tested from fixtures.
namespace cli::doctor_limits {

/// The probe program that prints what a run sees from inside, one `key=value`
/// a line, then (when `wait_for` is not empty) burns CPU until the file
/// /data/`wait_for` appears or 15 s pass, so the container is still running
/// and busy while doctor reads the engine's stats.
std::string guest_probe_script(const std::string& wait_for);

/// What the probe program saw from inside its container.
struct GuestView {
  /// "1" or "2" when the runtime shows the program its cgroup files; empty
  /// when it hides them (gVisor's kernel has no host cgroups to show).
  std::string cgroup_version;
  std::optional<std::int64_t> memory_bytes;  ///< absent: "max" or unreadable
  std::optional<double> cpus;                ///< quota / period; absent: no quota ("max" or -1)
  std::optional<std::int64_t> pids;          ///< absent: "max" or unreadable
  std::string uid;
  bool readonly_root = false;
  std::vector<std::string> interfaces;  ///< from /proc/net/dev, which every runtime answers
  std::string data_fs;                  ///< "blocks block-size" of /data
};

/// Parses the output of guest_probe_script's program.
GuestView parse_guest_view(const std::string& output);

/// What the engine said about the probe container while it ran.
struct EngineView {
  std::optional<docker::ContainerState> inspected;  ///< HostConfig as applied
  std::string inspect_error;
  std::optional<docker::ContainerStats> stats;  ///< the engine's reading of the cgroups
  std::string stats_error;
};

/// The verdict on one group of checks.
struct Verdict {
  std::vector<std::string> wrong;  ///< each limit not applied, not enforced or not confirmed; empty = ok
  std::string confirmed;           ///< how the limits were confirmed (for the ok line)
};

/// Memory, CPU and pids: each must be applied by the engine (HostConfig) and
/// shown enforced by at least one reading of the cgroups (the guest's own
/// files, when the runtime shows them, and the engine's stats), and no
/// reading may contradict it. A runtime that hides cgroups therefore relies
/// on the engine's stats; without them nothing confirms the limits: FAIL.
Verdict assess_limits(const config::RunLimits& expected, const GuestView& guest, const EngineView& engine);

/// What still means something inside any runtime: uid 1000, a read-only
/// root, no network interface but `lo`, plus what the engine applied for
/// them (ReadonlyRootfs, no network).
Verdict assess_isolation(const GuestView& guest, const EngineView& engine);

}  // namespace cli::doctor_limits
