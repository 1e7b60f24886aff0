#pragma once

#include <string>

#include "config/config.hpp"
#include "docker/types.hpp"
#include "runner/manifest.hpp"
#include "runner/run.hpp"

namespace runner {

/// Identifies a run container for the reaper and for operators.
struct RunIdentity {
  std::string run_id;
  std::string instance_id;
  std::int64_t started_at_ms = 0;
};

/// The shell line that reads "<n>\n<code>" from stdin into /tmp/<file> and
/// then execs the runner's command with the rest of stdin as the program's.
/// It needs only /bin/sh and head, so every image can support it.
inline constexpr const char* kBootstrap = R"(IFS= read -r n && head -c "$n" > "$0" && exec "$@")";

/// The bytes written to a run's stdin: the code framed for kBootstrap, then the program's stdin.
std::string frame_input(const std::string& code, const std::string& stdin_data);

/// The create request for one run: limits, hardening, labels, /data bind.
/// `network` must already be checked against the operator's policy.
docker::ContainerSpec build_container_spec(const Manifest& manifest, const RunRequest& request,
                                           const config::RunLimits& limits, const std::string& runtime, bool network,
                                           const RunIdentity& identity);

}  // namespace runner
