#pragma once

#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "core/error.hpp"
#include "egress/grant.hpp"
#include "runner/manifest.hpp"
#include "runner/run.hpp"

namespace runner {

/// Stable lower-case name of a policy, as callers write it.
std::string_view to_string(EgressPolicy policy);

/// The policy named `name`; an error listing the names for anything else.
core::Result<EgressPolicy> parse_egress_policy(std::string_view name);

/// The operator's egress settings, as the executor needs them.
struct EgressSettings {
  std::vector<EgressPolicy> offered;  ///< besides none; empty = no egress at all
  std::vector<std::string> allowlist;
  std::map<std::string, std::vector<std::string>> package_hosts;  ///< language -> patterns (replaces the manifest's)
  /// language -> the environment of its package installer (INSTALL_ENVIRONMENT: a mirror, say)
  std::map<std::string, std::map<std::string, std::string>> install_environment;
  std::string proxy = "mcp-sandbox-egress:3128";                  ///< host:port on `network`
  std::string network = "mcp-sandbox-egress";
  std::string grants_dir;
  std::string runtime;  ///< the runs' OCI runtime: runsc has no network, so no egress
  std::uint64_t max_bytes = 512ULL * 1024 * 1024;
  int max_connections = 16;
  std::uint64_t max_bytes_per_second = 10ULL * 1024 * 1024;

  [[nodiscard]] bool offers(EgressPolicy policy) const;
};

/// The settings from the configuration: EGRESS_POLICIES, plus open when ALLOW_NETWORK is on
/// (the older switch for network access, which now means egress open); validate() has checked them.
EgressSettings egress_settings(const config::Config& config);

/// How one run goes out: the grant the proxy will enforce and what the container gets.
struct EgressPlan {
  EgressPolicy policy = EgressPolicy::none;
  egress::Grant grant;
  std::string network;                   ///< HostConfig.NetworkMode
  std::vector<std::string> environment;  ///< NAME=value entries pointing every client at the proxy
};

/// The hosts the packages policy gives `manifest`'s runs (the operator's list, else the manifest's).
std::vector<std::string> package_hosts(const EgressSettings& settings, const Manifest& manifest);

/// The plan for a run of `manifest` with `policy` and the run id `run_id`, or an error a caller
/// can act on: the policy not offered (naming those that are), no egress under gVisor, a
/// packages policy for a runner without registries. nullopt-like: policy none gives a plan with
/// policy none and nothing else. The grant's token is fresh (CSPRNG).
core::Result<EgressPlan> plan_egress(const EgressSettings& settings, const Manifest& manifest, EgressPolicy policy,
                                     const std::string& run_id);

}  // namespace runner
