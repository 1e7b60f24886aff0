#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hpp"
#include "oauth/oauth_error.hpp"
#include "oauth/registration.hpp"
#include "oauth/store.hpp"

namespace oauth {

/// The one scope this server grants: everything its tools do.
inline constexpr std::string_view kScope = "sandbox";

struct ServerSettings {
  std::string issuer;          ///< PUBLIC_BASE_URL without a trailing slash; also the resource tokens are bound to
  std::string owner_password;  ///< what the owner types on the consent page
  std::string signing_key;     ///< signs the consent form's request (a key derived for this purpose only)
  std::chrono::seconds access_ttl{3600};
  std::chrono::seconds refresh_ttl{std::chrono::hours(24 * 30)};
  std::chrono::seconds code_ttl{60};
  std::chrono::seconds consent_ttl{600};
  std::int64_t max_unused_clients = 1000;  ///< registered clients that never got a grant
  std::chrono::seconds unused_client_ttl{std::chrono::hours(24)};
  RegistrationLimits registration;
};

/// Fetches a Client ID Metadata Document (an https URL) within the outbound limits; empty: not offered.
using MetadataFetcher = std::function<core::Result<nlohmann::json>(const std::string& url)>;

/// A validated authorization request, as the consent form carries it (signed) and the code remembers it.
struct AuthorizationRequest {
  std::string client_id;
  std::string client_name;
  std::string redirect_uri;
  std::string state;
  std::string code_challenge;
  std::string scope;
  std::string resource;
  std::string csrf;  ///< the form's CSRF token, equal to the browser's cookie
};

/// Why an authorization request was refused, and whether the client may be told by a redirect
/// (only once the client and its redirect URI are known; otherwise an error page, never a redirect).
struct AuthorizeFailure {
  OAuthError error;
  std::string location;  ///< the redirect carrying the error; empty: show an error page
};

/// Who a valid access token acts as.
struct TokenOwner {
  std::string grant_id;
  std::string client_name;
};

/// The OAuth 2.1 authorization server for the sandbox's owner: discovery documents, registration
/// (RFC 7591, and Client ID Metadata Documents through `fetcher`), the consent decision, the token
/// endpoint (authorization code with PKCE S256, rotating refresh tokens), revocation (RFC 7009), and
/// the resource side's check of access tokens. No HTTP here: `endpoints` adapts it.
class AuthorizationServer {
 public:
  using Clock = std::function<std::int64_t()>;  ///< unix seconds

  AuthorizationServer(Store& store, ServerSettings settings, MetadataFetcher fetcher = {}, Clock clock = {});

  /// RFC 8414 metadata.
  [[nodiscard]] nlohmann::json authorization_server_metadata() const;
  /// RFC 9728 metadata for the resource at `path` ("" for the server as a whole, "/mcp", "/sse").
  [[nodiscard]] nlohmann::json protected_resource_metadata(std::string_view path) const;
  [[nodiscard]] const std::string& issuer() const { return m_settings.issuer; }

  /// Dynamic Client Registration from `address`.
  OAuthResult<nlohmann::json> register_client(const nlohmann::json& metadata, const std::string& address);

  /// Checks an authorization request's parameters; on success the request to show the owner.
  tl::expected<AuthorizationRequest, AuthorizeFailure> begin_authorization(
      const std::map<std::string, std::string>& params);
  /// The request signed for the consent form, valid for consent_ttl.
  [[nodiscard]] std::string sign_request(const AuthorizationRequest& request) const;
  /// The request a consent form posted back, if its signature holds and it has not expired.
  [[nodiscard]] std::optional<AuthorizationRequest> open_request(std::string_view signed_request) const;
  [[nodiscard]] bool owner_password_matches(std::string_view password) const;
  /// The owner approved: where the browser goes (redirect URI with code, state and iss).
  std::string approve(const AuthorizationRequest& request);
  /// The owner denied: the redirect with error=access_denied.
  [[nodiscard]] std::string deny(const AuthorizationRequest& request) const;

  /// The token endpoint: `form` is the request body, `authorization` its Authorization header.
  OAuthResult<nlohmann::json> token(const std::map<std::string, std::string>& form, std::string_view authorization);
  /// RFC 7009 revocation; succeeds for unknown tokens too.
  OAuthResult<void> revoke(const std::map<std::string, std::string>& form, std::string_view authorization);

  /// Whom an access token acts for; nullopt when unknown, expired, revoked or bound to another resource.
  std::optional<TokenOwner> verify_access_token(std::string_view token);

 private:
  struct PendingCode {
    AuthorizationRequest request;
    std::int64_t expires = 0;
    bool used = false;
    std::string grant_id;  ///< the grant its exchange created (revoked if the code comes back)
  };

  OAuthResult<Client> find_client(const std::string& client_id);
  OAuthResult<Client> authenticate_client(const std::map<std::string, std::string>& form, std::string_view authorization);
  OAuthResult<nlohmann::json> exchange_code(const Client& client, const std::map<std::string, std::string>& form);
  OAuthResult<nlohmann::json> refresh(const Client& client, const std::map<std::string, std::string>& form);
  OAuthResult<nlohmann::json> issue_tokens(const Grant& grant);
  [[nodiscard]] bool resource_is_ours(std::string_view resource) const;
  std::int64_t now() const { return m_clock(); }

  Store& m_store;
  ServerSettings m_settings;
  MetadataFetcher m_fetcher;
  Clock m_clock;
  std::mutex m_mutex;  ///< guards m_codes and m_touched
  std::unordered_map<std::string, PendingCode> m_codes;  ///< by the code's hash
  std::unordered_map<std::string, std::int64_t> m_touched;  ///< grant id -> when last_used was last written
};

/// The caller id of a grant in logs, limits and the conversation index.
[[nodiscard]] std::string caller_id(std::string_view grant_id);

}  // namespace oauth
