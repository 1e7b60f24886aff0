#include "cli/oauth_service.hpp"

#include <spdlog/spdlog.h>

#include "oauth/crypto.hpp"
#include "oauth/redirect_uri.hpp"

namespace cli {

namespace {

std::chrono::seconds duration(const std::string& text) {
  return std::chrono::seconds(config::parse_duration_seconds(text).value_or(3600));
}

// A metadata document is a few hundred bytes; the draft asks servers to stop at 5 KB.
outbound::JsonFetcher::Options metadata_fetch_options(const config::Config& config) {
  outbound::JsonFetcher::Options options;
  options.fetch.limits.max_bytes = 5 * 1024;
  if (config.test_mode && !config.oauth_cimd_test_origin.empty()) {
    options.fetch.test_origin = outbound::TestOrigin{config.oauth_cimd_test_origin, config.oauth_cimd_test_ca};
  }
  return options;
}

}  // namespace

transport::TokenVerifier OAuthService::verifier() const {
  return [server = server.get()](std::string_view token) -> std::optional<transport::Caller> {
    const auto owner = server->verify_access_token(token);
    if (!owner) return std::nullopt;
    return transport::Caller{oauth::caller_id(owner->grant_id), owner->client_name};
  };
}

transport::Challenge OAuthService::challenge() const {
  return [issuer = server->issuer()](std::string_view path, bool presented) {
    // Each MCP path has its own resource metadata (RFC 9728 section 3.1); the rest point at the server's.
    const std::string_view resource = path == "/mcp" ? "/mcp" : path == "/sse" ? "/sse" : "";
    return oauth::bearer_challenge(issuer, resource, presented);
  };
}

core::Result<std::optional<OAuthService>> start_oauth(const config::Config& config, const std::string& public_base_url,
                                                     metrics::Metrics& metrics) {
  if (!config.oauth_enabled) return std::optional<OAuthService>();
  std::string issuer = public_base_url;
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  const auto parts = oauth::parse_uri(issuer);
  const bool https = parts && parts->scheme == "https" && !parts->host.empty();
  const bool loopback = parts && parts->scheme == "http" && oauth::is_loopback_host(parts->host);
  if (!https && !loopback) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "OAUTH_ENABLED needs PUBLIC_BASE_URL to be https:// (got '" + public_base_url +
                          "'); plain http is allowed only on a loopback address, for local testing");
  }
  if (!parts->rest.empty()) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "OAUTH_ENABLED needs PUBLIC_BASE_URL without a path (got '" + public_base_url +
                          "'): OAuth discovery documents live at the root of the host");
  }
  const auto file = oauth::database_path(config.state_directory());
  auto store = oauth::Store::open(file, /*create=*/true);
  if (!store) return core::fail(store.error());
  oauth::ServerSettings settings;
  settings.issuer = issuer;
  settings.owner_password = config.oauth_owner_password;
  settings.signing_key = oauth::hmac_hex(config.file_secret, "mcp-sandbox oauth consent request v1");
  settings.access_ttl = duration(config.oauth_access_token_ttl);
  settings.refresh_ttl = duration(config.oauth_refresh_token_ttl);
  settings.max_unused_clients = config.oauth_max_pending_clients;
  OAuthService service;
  service.metadata_documents = std::make_unique<outbound::JsonFetcher>(metadata_fetch_options(config));
  service.store = std::move(*store);
  service.server = std::make_unique<oauth::AuthorizationServer>(
      *service.store, settings, [fetcher = service.metadata_documents.get()](const std::string& url) {
        return fetcher->fetch(url);
      });
  service.endpoints = std::make_unique<oauth::Endpoints>(
      *service.server,
      oauth::EndpointOptions{config.oauth_registrations_per_hour, config.oauth_login_failures_per_15_minutes, https},
      &metrics);
  spdlog::info("oauth: authorization server on, issuer {}, state in {}", issuer, file.string());
  return std::optional<OAuthService>(std::move(service));
}

}  // namespace cli
