#include "runner/egress_plan.hpp"

#include <algorithm>

#include "core/random.hpp"

namespace runner {

namespace {

constexpr EgressPolicy kPolicies[] = {EgressPolicy::none, EgressPolicy::packages, EgressPolicy::allowlist,
                                      EgressPolicy::open};

std::string offered_list(const EgressSettings& settings) {
  std::string list = "none";
  for (const auto policy : settings.offered) list += ", " + std::string(to_string(policy));
  return list;
}

}  // namespace

std::string_view to_string(EgressPolicy policy) {
  switch (policy) {
    case EgressPolicy::none: return "none";
    case EgressPolicy::packages: return "packages";
    case EgressPolicy::allowlist: return "allowlist";
    case EgressPolicy::open: return "open";
  }
  return "none";
}

core::Result<EgressPolicy> parse_egress_policy(std::string_view name) {
  for (const auto policy : kPolicies) {
    if (name == to_string(policy)) return policy;
  }
  return core::fail(core::ErrorKind::invalid_argument,
                    "egress must be one of none, packages, allowlist, open (got '" + std::string(name) + "')");
}

EgressSettings egress_settings(const config::Config& config) {
  EgressSettings settings;
  for (const auto& name : config.egress_policies) {
    const auto policy = parse_egress_policy(name);
    if (policy && !settings.offers(*policy)) settings.offered.push_back(*policy);
  }
  if (config.allow_network && !settings.offers(EgressPolicy::open)) settings.offered.push_back(EgressPolicy::open);
  settings.allowlist = config.egress_allowlist;
  for (const auto& entry : config.egress_package_hosts) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos) continue;
    settings.package_hosts[entry.substr(0, equals)].push_back(entry.substr(equals + 1));
  }
  for (const auto& entry : config.install_environment) {
    const auto colon = entry.find(':');
    const auto equals = entry.find('=', colon);
    if (colon == std::string::npos || equals == std::string::npos) continue;
    settings.install_environment[entry.substr(0, colon)][entry.substr(colon + 1, equals - colon - 1)] =
        entry.substr(equals + 1);
  }
  settings.proxy = config.egress_proxy;
  settings.network = config.egress_network;
  settings.grants_dir = config.egress_grants_directory();
  settings.runtime = config.runner_runtime;
  settings.max_bytes = static_cast<std::uint64_t>(config.egress_max_mb) * 1024 * 1024;
  settings.max_connections = config.egress_max_connections;
  settings.max_bytes_per_second = static_cast<std::uint64_t>(config.egress_max_kbps) * 1024;
  return settings;
}

bool EgressSettings::offers(EgressPolicy policy) const {
  return policy == EgressPolicy::none || std::find(offered.begin(), offered.end(), policy) != offered.end();
}

std::vector<std::string> package_hosts(const EgressSettings& settings, const Manifest& manifest) {
  const auto overridden = settings.package_hosts.find(manifest.language);
  return overridden != settings.package_hosts.end() ? overridden->second : manifest.registries;
}

core::Result<EgressPlan> plan_egress(const EgressSettings& settings, const Manifest& manifest, EgressPolicy policy,
                                     const std::string& run_id) {
  EgressPlan plan;
  plan.policy = policy;
  if (policy == EgressPolicy::none) return plan;
  if (!settings.offers(policy)) {
    return core::fail(core::ErrorKind::invalid_argument, "egress '" + std::string(to_string(policy)) +
                                                             "' is not offered by this server; it offers: " +
                                                             offered_list(settings));
  }
  if (settings.runtime == "runsc") {
    return core::fail(core::ErrorKind::invalid_argument,
                      "egress is not available on this server: runs use gVisor (RUNNER_RUNTIME=runsc), which gives "
                      "them no network; run with egress none");
  }
  std::vector<std::string> hosts;
  switch (policy) {
    case EgressPolicy::packages:
      hosts = package_hosts(settings, manifest);
      if (hosts.empty()) {
        return core::fail(core::ErrorKind::invalid_argument,
                          "egress 'packages' is not available for " + manifest.language +
                              ": the server knows no package registry for it (EGRESS_PACKAGE_HOSTS)");
      }
      break;
    case EgressPolicy::allowlist: hosts = settings.allowlist; break;
    case EgressPolicy::open: hosts = {"*"}; break;
    case EgressPolicy::none: break;
  }
  auto patterns = egress::HostPatterns::parse(hosts);
  if (!patterns) return core::fail(patterns.error().with_context("egress host list"));

  plan.grant.run_id = run_id;
  plan.grant.token = core::random_hex(24);
  plan.grant.policy = std::string(to_string(policy));
  plan.grant.hosts = std::move(*patterns);
  plan.grant.max_bytes = settings.max_bytes;
  plan.grant.max_connections = settings.max_connections;
  plan.grant.max_bytes_per_second = settings.max_bytes_per_second;
  plan.network = settings.network;
  const std::string url = "http://" + run_id + ":" + plan.grant.token + "@" + settings.proxy;
  // Both spellings: curl reads only the lower-case http_proxy, most others either; npm and
  // yarn read their own. NO_PROXY is cleared so no host is tried directly (there is no route).
  for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "npm_config_proxy",
                           "npm_config_https_proxy", "PIP_PROXY"}) {
    plan.environment.push_back(std::string(name) + "=" + url);
  }
  plan.environment.emplace_back("NO_PROXY=");
  plan.environment.emplace_back("no_proxy=");
  return plan;
}

}  // namespace runner
