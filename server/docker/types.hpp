#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace docker {

using Labels = std::map<std::string, std::string>;

/// GET /version.
struct EngineVersion {
  std::string version;          ///< engine release, e.g. "20.10.24"
  std::string api_version;      ///< newest API the engine speaks, e.g. "1.41"
  std::string min_api_version;  ///< oldest API the engine accepts
  std::string os;
  std::string arch;
};

/// GET /info, the fields we act on.
struct EngineInfo {
  std::string server_version;
  std::string cgroup_version;  ///< "1" or "2"; empty on engines that do not say
  std::string default_runtime;
  std::vector<std::string> runtimes;
  int ncpu = 0;
  std::int64_t mem_total = 0;
};

/// One entry of GET /images/json.
struct ImageSummary {
  std::string id;
  std::vector<std::string> repo_tags;
  Labels labels;
  std::int64_t created = 0;  ///< unix seconds
  std::int64_t size = 0;
};

/// One entry of GET /containers/json.
struct ContainerSummary {
  std::string id;
  std::vector<std::string> names;
  std::string image;
  std::string state;  ///< created, running, exited, ...
  Labels labels;
  std::int64_t created = 0;  ///< unix seconds
  std::vector<std::string> networks;  ///< names of the networks it is attached to (NetworkSettings.Networks)
};

/// The limits part of GET /containers/{id}/json (HostConfig, and User and
/// NetworkDisabled from Config): what the engine applied, which is not yet
/// proof that the kernel enforces it (ContainerStats is the engine's reading).
struct AppliedLimits {
  std::int64_t memory_bytes = 0;
  std::int64_t memory_swap_bytes = 0;  ///< equal to memory_bytes means no swap
  std::int64_t nano_cpus = 0;
  std::int64_t pids_limit = 0;  ///< 0: none
  bool readonly_rootfs = false;
  std::string network_mode;
  bool network_disabled = false;
  std::string user;
};

/// State part of GET /containers/{id}/json (and HostConfig.Runtime and the applied limits).
struct ContainerState {
  std::string status;  ///< created, running, exited, dead, ...
  bool running = false;
  bool oom_killed = false;
  int exit_code = 0;
  std::string error;
  std::string runtime;  ///< HostConfig.Runtime: the OCI runtime the engine actually uses for it
  AppliedLimits limits;
};

/// GET /containers/{id}/stats?stream=0&one-shot=1: the engine's reading of
/// the container's cgroups from the host side, so it holds whatever the
/// runtime shows the program inside (gVisor shows it none).
struct ContainerStats {
  std::optional<std::int64_t> memory_limit;  ///< memory_stats.limit; absent when the engine gives none
  std::int64_t memory_usage = 0;
  std::optional<std::int64_t> pids_limit;  ///< pids_stats.limit; absent when unlimited
  std::int64_t pids_current = 0;
  std::int64_t cpu_total_ns = 0;
  /// CFS periods the container was runnable in; the kernel counts them only
  /// while a CPU quota is set, so > 0 shows a quota is enforced.
  std::int64_t cpu_periods = 0;
  std::int64_t cpu_throttled_periods = 0;  ///< periods in which the quota stopped it
};

struct Ulimit {
  std::string name;
  std::int64_t soft = 0;
  std::int64_t hard = 0;
};

/// Everything POST /containers/create needs, typed; engine_json maps it to the wire format.
struct ContainerSpec {
  std::string name;  ///< optional container name
  std::string image;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  ///< KEY=VALUE
  std::string user;
  std::string working_dir;
  Labels labels;
  bool open_stdin = false;        ///< OpenStdin + StdinOnce + AttachStdin: stdin closes when the client half-closes
  bool network_disabled = true;   ///< Config.NetworkDisabled: skips the network start hook (halves start time)

  // HostConfig
  std::int64_t nano_cpus = 0;
  std::int64_t memory_bytes = 0;
  std::int64_t memory_swap_bytes = 0;  ///< equal to memory_bytes means no swap
  std::int64_t pids_limit = 0;
  std::string network_mode = "none";
  std::vector<std::string> dns;  ///< HostConfig.Dns: the upstreams the engine's embedded DNS forwards to; empty: the host's
  std::vector<std::string> cap_drop;
  std::vector<std::string> security_opt;
  bool readonly_rootfs = false;
  std::map<std::string, std::string> tmpfs;  ///< mount point -> options
  std::vector<std::string> binds;            ///< host:container[:opts]
  std::vector<Ulimit> ulimits;
  std::string log_driver;  ///< empty: engine default
  std::map<std::string, std::string> log_options;
  std::string runtime;  ///< empty: engine default
  bool init = false;
};

/// POST /containers/{id}/wait.
struct WaitResult {
  int status_code = 0;
  std::string error;
};

}  // namespace docker
