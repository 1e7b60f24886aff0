#include "http/ops_routes.hpp"

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace http {
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

void mount_ops_routes(httplib::Server& server, docker::Engine& engine, runner::RunnerCatalog& catalog,
                      Authenticate authenticate, metrics::Metrics& metrics, OpsOptions options) {
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok\n", "text/plain");
  });
  server.Get("/readyz", [&engine, &catalog, required = options.required_runners](const httplib::Request&,
                                                                                  httplib::Response& response) {
    const auto reason = not_ready_reason(engine, catalog, required);
    nlohmann::json body = {{"ready", reason.empty()}};
    if (!reason.empty()) body["reason"] = reason;
    response.status = reason.empty() ? 200 : 503;
    response.set_content(body.dump() + "\n", "application/json");
  });
  server.Get("/metrics", [authenticate = std::move(authenticate), &metrics, options](const httplib::Request& request,
                                                                                    httplib::Response& response) {
    if (!options.metrics_public && !authenticate(request, response)) return;
    options.before_scrape();
    response.set_content(metrics.serialize(), "text/plain; version=0.0.4");
  });
}

}  // namespace http
