#pragma once

#include <functional>
#include <string>
#include <vector>

#include "docker/engine.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "runner/registry.hpp"

namespace routes {

/// The token check of a protected route: false with the refusal (401, 429) written.
using Authenticate = std::function<bool(http::Request&, http::Response&)>;

struct OpsOptions {
  std::vector<std::string> required_runners;
  bool metrics_public = false;
  /// Called before each scrape to refresh gauges that are read, not counted (open sessions).
  std::function<void()> before_scrape = [] {};
};

/// Mounts /healthz (alive, no auth), /readyz (engine answers and every required runner image is
/// present; 503 otherwise, the reason logged, never sent: these two answer anyone) and /metrics
/// (Prometheus text; bearer token unless metrics_public).
void mount_ops_routes(http::Router& routes, docker::Engine& engine, runner::RunnerCatalog& catalog,
                      Authenticate authenticate, metrics::Metrics& metrics, OpsOptions options);

}  // namespace routes
