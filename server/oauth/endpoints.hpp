#pragma once

#include <string>
#include <string_view>

#include "core/rate_limit.hpp"
#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "oauth/authorization_server.hpp"

namespace oauth {

struct EndpointOptions {
  int registrations_per_hour = 20;        ///< per client address
  int login_failures_per_15_minutes = 10; ///< wrong owner passwords per client address
  bool secure_cookies = true;             ///< https: the CSRF cookie is __Host- and Secure
};

/// The authorization server's HTTP side, all of it reachable by anyone: the discovery documents
/// (RFC 9728 and RFC 8414, with the OpenID-style fallback), registration, the consent page, the token
/// and revocation endpoints. Bodies are small forms or JSON (16 KiB at most), read only after the
/// route and content type are right; every answer is no-store.
class Endpoints {
 public:
  Endpoints(AuthorizationServer& server, EndpointOptions options, metrics::Metrics* metrics = nullptr);

  void mount(http::Router& routes);

 private:
  void protected_resource(const http::Request& request, http::Response& response, std::string_view path);
  void authorization_server_metadata(const http::Request& request, http::Response& response);
  void register_client(http::Request& request, http::Response& response);
  void authorize_page(http::Request& request, http::Response& response);
  void authorize_decision(http::Request& request, http::Response& response);
  void token(http::Request& request, http::Response& response);
  void revoke(http::Request& request, http::Response& response);
  void consent_page(http::Response& response, const AuthorizationRequest& request, const std::string& problem,
                    int status);
  void event(std::string_view name);

  AuthorizationServer& m_server;
  EndpointOptions m_options;
  metrics::Metrics* m_metrics;
  core::KeyedRateLimiter m_registrations;   ///< by client address
  core::KeyedRateLimiter m_login_failures;  ///< by client address
};

/// The WWW-Authenticate value of a 401 at `path` of a server whose OAuth issuer is `issuer`
/// (RFC 9728 section 5.1): where the protected resource metadata is, the scope, and
/// error="invalid_token" when a token was presented but is not (or no longer) valid.
[[nodiscard]] std::string bearer_challenge(std::string_view issuer, std::string_view path, bool token_presented);

}  // namespace oauth
