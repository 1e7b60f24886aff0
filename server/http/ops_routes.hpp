#pragma once

#include <functional>
#include <string>
#include <vector>

#include "docker/engine.hpp"
#include "metrics/metrics.hpp"
#include "runner/registry.hpp"

namespace httplib {
class Server;
struct Request;
struct Response;
}

namespace http {

/// The token check of a protected route: false with the refusal (401, 429) written.
using Authenticate = std::function<bool(const httplib::Request&, httplib::Response&)>;

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
                      Authenticate authenticate, metrics::Metrics& metrics, OpsOptions options);

}  // namespace http
