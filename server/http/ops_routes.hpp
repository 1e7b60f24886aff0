#pragma once

#include <functional>
#include <string>
#include <vector>

#include "docker/engine.hpp"
#include "http/auth.hpp"
#include "metrics/metrics.hpp"
#include "runner/registry.hpp"

namespace httplib {
class Server;
}

namespace http {

struct OpsOptions {
  std::vector<std::string> required_runners;
  bool metrics_public = false;
  /// Called before each scrape to refresh gauges that are read, not counted (open sessions).
  std::function<void()> before_scrape = [] {};
};

/// Mounts /healthz (alive, no auth), /readyz (engine answers and every
/// required runner image is present; 503 with the reason otherwise) and
/// /metrics (Prometheus text; bearer token unless metrics_public).
void mount_ops_routes(httplib::Server& server, docker::Engine& engine, runner::RunnerCatalog& catalog,
                      const BearerAuth& auth, metrics::Metrics& metrics, OpsOptions options);

}  // namespace http
