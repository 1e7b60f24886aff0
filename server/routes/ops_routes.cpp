#include "routes/ops_routes.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>
#include <utility>
#include <nlohmann/json.hpp>

namespace routes {
namespace {

// The required languages `registry` has no runner for, comma-separated.
std::string missing_languages(const runner::Registry& registry, const std::vector<std::string>& required) {
  std::string missing;
  for (const auto& language : required) {
    if (registry.find(language) == nullptr) missing += (missing.empty() ? "" : ", ") + language;
  }
  return missing;
}

// Why the server cannot take runs now, or an empty string when it can.
std::string not_ready_reason(docker::Engine& engine, runner::RunnerCatalog& catalog,
                             const std::vector<std::string>& required) {
  if (auto ping = engine.ping(); !ping) return "engine: " + ping.error().message;
  auto missing = missing_languages(*catalog.current(), required);
  if (!missing.empty()) {
    // Images may have been built since start-up: look again before saying no.
    if (auto refreshed = catalog.refresh(engine)) missing = missing_languages(**refreshed, required);
  }
  return missing.empty() ? std::string() : "runner images missing: " + missing;
}

}  // namespace

void mount_ops_routes(http::Router& routes, docker::Engine& engine, runner::RunnerCatalog& catalog,
                      Authenticate authenticate, metrics::Metrics& metrics, OpsOptions options) {
  routes.add("GET", "/healthz", [](http::Request&, http::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  // The reason is logged when it changes, so a failing probe does not fill the log.
  auto last_reason = std::make_shared<std::pair<std::mutex, std::string>>();
  routes.add("GET", "/readyz", [&engine, &catalog, required = options.required_runners, last_reason](
                                     http::Request&, http::Response& response) {
    const auto reason = not_ready_reason(engine, catalog, required);
    {
      const std::scoped_lock lock(last_reason->first);
      if (reason != last_reason->second) {
        if (reason.empty()) {
          spdlog::info("ready");
        } else {
          spdlog::warn("not ready: {}", reason);
        }
        last_reason->second = reason;
      }
    }
    response.status = reason.empty() ? 200 : 503;
    response.set_content(nlohmann::json{{"ready", reason.empty()}}.dump() + "\n", "application/json");
  });
  routes.add("GET", "/metrics", [authenticate = std::move(authenticate), &metrics, options](http::Request& request,
                                                                                            http::Response& response) {
    if (!options.metrics_public && !authenticate(request, response)) return;
    options.before_scrape();
    response.set_content(metrics.serialize(), "text/plain; version=0.0.4");
  });
}

}  // namespace routes
