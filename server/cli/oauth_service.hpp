#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "metrics/metrics.hpp"
#include "oauth/authorization_server.hpp"
#include "oauth/endpoints.hpp"
#include "oauth/store.hpp"
#include "outbound/json_fetcher.hpp"
#include "transport/auth.hpp"

namespace cli {

/// The built-in OAuth authorization server as `serve` runs it: its database, the server and its HTTP
/// endpoints, and what the MCP endpoint needs from it (the token check and the 401 challenge).
struct OAuthService {
  std::unique_ptr<outbound::JsonFetcher> metadata_documents;  ///< Client ID Metadata Documents, cached
  std::unique_ptr<oauth::Store> store;
  std::unique_ptr<oauth::AuthorizationServer> server;
  std::unique_ptr<oauth::Endpoints> endpoints;

  [[nodiscard]] transport::TokenVerifier verifier() const;
  [[nodiscard]] transport::Challenge challenge() const;
};

/// Starts the OAuth service when OAUTH_ENABLED: refuses a public URL that is neither https nor http
/// on a loopback host, or that has a path; opens (on the first start creates) the database in
/// STATE_DIR. nullopt when OAuth is off.
core::Result<std::optional<OAuthService>> start_oauth(const config::Config& config, const std::string& public_base_url,
                                                     metrics::Metrics& metrics);

}  // namespace cli
