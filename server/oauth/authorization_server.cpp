#include "oauth/authorization_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/encoding.hpp"
#include "oauth/crypto.hpp"
#include "oauth/form.hpp"
#include "oauth/redirect_uri.hpp"

namespace oauth {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxState = 1024;
constexpr std::int64_t kTouchEverySeconds = 60;
constexpr std::size_t kMaxPendingCodes = 10000;

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::string> base64url_decode(std::string_view text) {
  std::string standard(text);
  for (auto& c : standard) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (c == '+' || c == '/' || c == '=') return std::nullopt;
  }
  return core::base64_decode(standard);
}

// RFC 7636 section 4.1: 43 to 128 unreserved characters.
bool valid_verifier(std::string_view verifier) {
  return verifier.size() >= 43 && verifier.size() <= 128 &&
         std::all_of(verifier.begin(), verifier.end(), [](unsigned char c) {
           return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~';
         });
}

// A redirect to `uri` with `params` appended to its query.
std::string with_query(std::string uri, const std::vector<std::pair<std::string, std::string>>& params) {
  char separator = uri.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [name, value] : params) {
    if (value.empty() && name == "state") continue;
    uri += separator;
    uri += name + "=" + core::percent_encode(value);
    separator = '&';
  }
  return uri;
}

std::string client_log_name(std::string_view name) { return core::printable(name, 100); }

}  // namespace

std::string caller_id(std::string_view grant_id) { return "oauth:" + std::string(grant_id); }

AuthorizationServer::AuthorizationServer(Store& store, ServerSettings settings, MetadataFetcher fetcher, Clock clock)
    : m_store(store),
      m_settings(std::move(settings)),
      m_fetcher(std::move(fetcher)),
      m_clock(clock ? std::move(clock) : Clock(system_now)) {}

json AuthorizationServer::authorization_server_metadata() const {
  const auto& issuer = m_settings.issuer;
  const json methods = {"none", "client_secret_post", "client_secret_basic"};
  return {{"issuer", issuer},
          {"authorization_endpoint", issuer + "/authorize"},
          {"token_endpoint", issuer + "/token"},
          {"registration_endpoint", issuer + "/register"},
          {"revocation_endpoint", issuer + "/revoke"},
          {"scopes_supported", {kScope}},
          {"response_types_supported", {"code"}},
          {"response_modes_supported", {"query"}},
          {"grant_types_supported", {"authorization_code", "refresh_token"}},
          {"token_endpoint_auth_methods_supported", methods},
          {"revocation_endpoint_auth_methods_supported", methods},
          {"code_challenge_methods_supported", {"S256"}},
          {"authorization_response_iss_parameter_supported", true},
          {"client_id_metadata_document_supported", static_cast<bool>(m_fetcher)}};
}

json AuthorizationServer::protected_resource_metadata(std::string_view path) const {
  return {{"resource", m_settings.issuer + std::string(path)},
          {"authorization_servers", {m_settings.issuer}},
          {"scopes_supported", {kScope}},
          {"bearer_methods_supported", {"header"}},
          {"resource_name", "mcp-sandbox"}};
}

bool AuthorizationServer::resource_is_ours(std::string_view resource) const {
  const std::string& base = m_settings.issuer;
  if (resource == base) return true;
  // A path under this server (/mcp, /sse), never a sibling host that merely starts with the same text.
  return resource.size() > base.size() && resource.substr(0, base.size()) == base && resource[base.size()] == '/';
}

OAuthResult<json> AuthorizationServer::register_client(const json& metadata, const std::string& address) {
  auto client = client_from_registration(metadata, m_settings.registration);
  if (!client) return tl::unexpected(client.error());
  const std::int64_t created = now();
  const auto unused = m_store.prune_unused_clients(created - m_settings.unused_client_ttl.count());
  if (!unused) return oauth_fail("server_error", "the client store failed", 500);
  if (*unused >= m_settings.max_unused_clients) {
    spdlog::warn("oauth: registration refused: {} registered clients have not been authorized yet", *unused);
    return oauth_fail("temporarily_unavailable", "too many clients are waiting for authorization; try again later", 503);
  }
  client->client_id = "mcp-" + random_token(18);
  client->created = created;
  client->registered_by = address;
  std::optional<std::string> secret;
  if (client->auth_method != "none") {
    secret = random_token(32);
    client->secret_hash = sha256_hex(*secret);
  }
  if (auto stored = m_store.add_client(*client); !stored) {
    spdlog::error("oauth: cannot store a client: {}", stored.error().message);
    return oauth_fail("server_error", "the client store failed", 500);
  }
  spdlog::info("oauth: client '{}' registered from {} ({}, {})", client_log_name(client->name), address,
               client->application_type, client->auth_method);
  return registration_response(*client, secret);
}

OAuthResult<Client> AuthorizationServer::find_client(const std::string& client_id) {
  if (client_id.empty() || client_id.size() > 512) return oauth_fail("invalid_client", "unknown client_id");
  if (is_metadata_document_id(client_id)) {
    if (!m_fetcher) return oauth_fail("invalid_client", "client metadata documents are not accepted by this server");
    const auto document = m_fetcher(client_id);
    if (!document) {
      return oauth_fail("invalid_client", "the client metadata document could not be used: " + document.error().message);
    }
    return client_from_metadata_document(*document, client_id, m_settings.registration);
  }
  const auto stored = m_store.client(client_id);
  if (!stored) return oauth_fail("server_error", "the client store failed", 500);
  if (!*stored) return oauth_fail("invalid_client", "unknown client_id");
  return **stored;
}

tl::expected<AuthorizationRequest, AuthorizeFailure> AuthorizationServer::begin_authorization(
    const std::map<std::string, std::string>& params) {
  const auto page_error = [](const OAuthError& error) { return tl::unexpected(AuthorizeFailure{error, {}}); };
  const auto client = find_client(form_value(params, "client_id"));
  if (!client) return page_error(client.error());
  std::string redirect_uri = form_value(params, "redirect_uri");
  if (redirect_uri.empty()) {
    // Optional only when the client registered exactly one (RFC 6749 section 3.1.2.3).
    if (client->redirect_uris.size() != 1) {
      return page_error(OAuthError{400, "invalid_request", "redirect_uri is required for this client"});
    }
    redirect_uri = client->redirect_uris.front();
  }
  const bool registered = std::any_of(client->redirect_uris.begin(), client->redirect_uris.end(),
                                      [&](const std::string& uri) { return redirect_uri_matches(uri, redirect_uri); });
  if (!registered) {
    return page_error(OAuthError{400, "invalid_request", "redirect_uri is not registered for this client"});
  }
  AuthorizationRequest request{client->client_id, client->name, redirect_uri, form_value(params, "state"), "",
                               std::string(kScope), m_settings.issuer, ""};
  // From here on the client is known and so is where it listens: errors go back to it.
  const auto redirect_error = [&](std::string error, std::string description) {
    std::vector<std::pair<std::string, std::string>> query = {
        {"error", error}, {"error_description", description}, {"state", request.state}, {"iss", m_settings.issuer}};
    return tl::unexpected(
        AuthorizeFailure{OAuthError{400, std::move(error), std::move(description)}, with_query(request.redirect_uri, query)});
  };
  if (request.state.size() > kMaxState) {
    request.state.clear();
    return redirect_error("invalid_request", "state is longer than 1024 characters");
  }
  if (form_value(params, "response_type") != "code") {
    return redirect_error("unsupported_response_type", "only response_type=code is offered");
  }
  const std::string method = form_value(params, "code_challenge_method");
  request.code_challenge = form_value(params, "code_challenge");
  if (request.code_challenge.empty() || method.empty()) {
    return redirect_error("invalid_request", "PKCE is required: code_challenge with code_challenge_method=S256");
  }
  if (method != "S256") return redirect_error("invalid_request", "code_challenge_method must be S256 (plain is refused)");
  if (request.code_challenge.size() != 43 || !valid_verifier(request.code_challenge)) {
    // An S256 challenge is base64url of 32 bytes: exactly 43 characters of the verifier alphabet.
    return redirect_error("invalid_request", "code_challenge is not a base64url SHA-256");
  }
  const std::string resource = form_value(params, "resource");
  if (!resource.empty() && !resource_is_ours(resource)) {
    return redirect_error("invalid_target", "resource is not this server (" + m_settings.issuer + ")");
  }
  // Unknown scopes are ignored, not refused (RFC 6749 section 3.3): the token says what was granted.
  request.csrf = random_token(24);
  return request;
}

std::string AuthorizationServer::sign_request(const AuthorizationRequest& request) const {
  const json body = {{"c", request.client_id},     {"n", request.client_name}, {"r", request.redirect_uri},
                     {"s", request.state},         {"p", request.code_challenge}, {"o", request.scope},
                     {"t", request.resource},      {"k", request.csrf},        {"x", now() + m_settings.consent_ttl.count()}};
  const std::string payload = base64url(body.dump());
  return payload + "." + hmac_hex(m_settings.signing_key, payload);
}

std::optional<AuthorizationRequest> AuthorizationServer::open_request(std::string_view signed_request) const {
  const auto dot = signed_request.find('.');
  if (dot == std::string_view::npos || signed_request.size() > 8192) return std::nullopt;
  const std::string_view payload = signed_request.substr(0, dot);
  if (!same_secret(hmac_hex(m_settings.signing_key, payload), signed_request.substr(dot + 1))) return std::nullopt;
  const auto text = base64url_decode(payload);
  if (!text) return std::nullopt;
  const auto body = json::parse(*text, nullptr, false);
  if (!body.is_object() || !body.value("x", json()).is_number_integer() || body["x"].get<std::int64_t>() < now()) {
    return std::nullopt;
  }
  const auto field = [&](const char* name) { return body.value(name, std::string()); };
  return AuthorizationRequest{field("c"), field("n"), field("r"), field("s"), field("p"), field("o"), field("t"), field("k")};
}

bool AuthorizationServer::owner_password_matches(std::string_view password) const {
  // Digests first: the comparison then takes the same time whatever the length typed.
  return !m_settings.owner_password.empty() && same_secret(sha256(password), sha256(m_settings.owner_password));
}

std::string AuthorizationServer::approve(const AuthorizationRequest& request) {
  const std::string code = random_token(32);
  {
    std::lock_guard lock(m_mutex);
    const std::int64_t at = now();
    std::erase_if(m_codes, [&](const auto& entry) { return entry.second.expires < at; });
    if (m_codes.size() >= kMaxPendingCodes) m_codes.erase(m_codes.begin());
    m_codes[sha256_hex(code)] = PendingCode{request, at + m_settings.code_ttl.count(), false, {}};
  }
  spdlog::info("oauth: the owner allowed client '{}'", client_log_name(request.client_name));
  return with_query(request.redirect_uri, {{"code", code}, {"state", request.state}, {"iss", m_settings.issuer}});
}

std::string AuthorizationServer::deny(const AuthorizationRequest& request) const {
  spdlog::info("oauth: the owner denied client '{}'", client_log_name(request.client_name));
  return with_query(request.redirect_uri, {{"error", "access_denied"},
                                           {"error_description", "the owner denied access"},
                                           {"state", request.state},
                                           {"iss", m_settings.issuer}});
}

OAuthResult<Client> AuthorizationServer::authenticate_client(const std::map<std::string, std::string>& form,
                                                             std::string_view authorization) {
  std::string client_id = form_value(form, "client_id");
  std::string secret = form_value(form, "client_secret");
  if (authorization.size() > 6 && (authorization.substr(0, 6) == "Basic " || authorization.substr(0, 6) == "basic ")) {
    // RFC 6749 section 2.3.1: id and secret are form-encoded before base64.
    const auto decoded = core::base64_decode(core::trim(authorization.substr(6)));
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) return oauth_fail("invalid_client", "malformed Basic credentials", 401);
    const auto id = core::percent_decode(std::string_view(*decoded).substr(0, colon), true);
    const auto pass = core::percent_decode(std::string_view(*decoded).substr(colon + 1), true);
    if (!id || !pass || (!client_id.empty() && client_id != *id) || !secret.empty()) {
      return oauth_fail("invalid_client", "conflicting client credentials", 401);
    }
    client_id = *id;
    secret = *pass;
  }
  auto client = find_client(client_id);
  if (!client) {
    if (client.error().status == 500) return client;
    return oauth_fail("invalid_client", "unknown client", 401);
  }
  if (client->auth_method == "none") {
    if (!secret.empty()) return oauth_fail("invalid_client", "this client is public and has no secret", 401);
    return client;
  }
  if (secret.empty() || !same_secret(sha256_hex(secret), client->secret_hash)) {
    return oauth_fail("invalid_client", "client authentication failed", 401);
  }
  return client;
}

OAuthResult<json> AuthorizationServer::token(const std::map<std::string, std::string>& form,
                                             std::string_view authorization) {
  const std::string grant_type = form_value(form, "grant_type");
  if (grant_type != "authorization_code" && grant_type != "refresh_token") {
    return oauth_fail("unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
  }
  const auto client = authenticate_client(form, authorization);
  if (!client) return tl::unexpected(client.error());
  const std::string resource = form_value(form, "resource");
  if (!resource.empty() && !resource_is_ours(resource)) {
    return oauth_fail("invalid_target", "resource is not this server (" + m_settings.issuer + ")");
  }
  return grant_type == "authorization_code" ? exchange_code(*client, form) : refresh(*client, form);
}

OAuthResult<json> AuthorizationServer::exchange_code(const Client& client, const std::map<std::string, std::string>& form) {
  const std::string code_hash = sha256_hex(form_value(form, "code"));
  PendingCode pending;
  {
    std::lock_guard lock(m_mutex);
    const auto it = m_codes.find(code_hash);
    if (it == m_codes.end()) return oauth_fail("invalid_grant", "unknown or expired authorization code");
    pending = it->second;
    it->second.used = true;
  }
  if (pending.used) {
    // A code presented twice was intercepted (OAuth 2.1 section 4.1.3): what it issued is revoked too.
    if (!pending.grant_id.empty()) (void)m_store.revoke_grant(pending.grant_id);
    spdlog::warn("oauth: an authorization code of client '{}' was used twice; its grant is revoked",
                 client_log_name(pending.request.client_name));
    return oauth_fail("invalid_grant", "authorization code already used; the tokens it issued are revoked");
  }
  if (pending.expires < now()) return oauth_fail("invalid_grant", "authorization code expired");
  if (pending.request.client_id != client.client_id) {
    return oauth_fail("invalid_grant", "authorization code was issued to another client");
  }
  if (form_value(form, "redirect_uri") != pending.request.redirect_uri) {
    return oauth_fail("invalid_grant", "redirect_uri differs from the authorization request's");
  }
  const std::string verifier = form_value(form, "code_verifier");
  if (!valid_verifier(verifier) || !same_secret(base64url(sha256(verifier)), pending.request.code_challenge)) {
    return oauth_fail("invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)");
  }
  const std::int64_t at = now();
  Grant grant{"g" + random_token(12), client.client_id, client.name, pending.request.scope, pending.request.resource, at, at};
  if (auto stored = m_store.add_grant(grant); !stored) {
    spdlog::error("oauth: cannot store a grant: {}", stored.error().message);
    return oauth_fail("server_error", "the grant store failed", 500);
  }
  {
    std::lock_guard lock(m_mutex);
    if (const auto it = m_codes.find(code_hash); it != m_codes.end()) it->second.grant_id = grant.grant_id;
  }
  spdlog::info("oauth: grant {} issued to client '{}'", grant.grant_id, client_log_name(client.name));
  return issue_tokens(grant);
}

OAuthResult<json> AuthorizationServer::refresh(const Client& client, const std::map<std::string, std::string>& form) {
  const std::string hash = sha256_hex(form_value(form, "refresh_token"));
  const auto record = m_store.token(hash);
  if (!record) return oauth_fail("server_error", "the token store failed", 500);
  if (!*record || (*record)->kind != TokenKind::refresh || (*record)->expires < now()) {
    return oauth_fail("invalid_grant", "unknown, expired or revoked refresh token");
  }
  const Grant grant = (*record)->grant;
  if (grant.client_id != client.client_id) return oauth_fail("invalid_grant", "refresh token of another client");
  const auto first_use = m_store.use_refresh_token(hash);
  if (!first_use) return oauth_fail("server_error", "the token store failed", 500);
  if (!*first_use) {
    // A rotated refresh token came back: one of two holders is not the client. Revoke the family.
    (void)m_store.revoke_grant(grant.grant_id);
    spdlog::warn("oauth: a used refresh token of client '{}' came back; grant {} is revoked",
                 client_log_name(grant.client_name), grant.grant_id);
    return oauth_fail("invalid_grant", "refresh token already used; this grant is revoked");
  }
  return issue_tokens(grant);
}

OAuthResult<json> AuthorizationServer::issue_tokens(const Grant& grant) {
  const std::int64_t at = now();
  (void)m_store.prune_tokens(at);
  const std::string access = "mcp_at_" + random_token(32);
  const std::string refresh_token = "mcp_rt_" + random_token(32);
  if (!m_store.add_token(sha256_hex(access), grant.grant_id, TokenKind::access, at + m_settings.access_ttl.count()) ||
      !m_store.add_token(sha256_hex(refresh_token), grant.grant_id, TokenKind::refresh,
                         at + m_settings.refresh_ttl.count())) {
    return oauth_fail("server_error", "the token store failed", 500);
  }
  return json{{"access_token", access},
              {"token_type", "Bearer"},
              {"expires_in", m_settings.access_ttl.count()},
              {"refresh_token", refresh_token},
              {"scope", grant.scope}};
}

OAuthResult<void> AuthorizationServer::revoke(const std::map<std::string, std::string>& form,
                                              std::string_view authorization) {
  const auto client = authenticate_client(form, authorization);
  if (!client) return tl::unexpected(client.error());
  const std::string hash = sha256_hex(form_value(form, "token"));
  const auto record = m_store.token(hash);
  if (!record) return oauth_fail("server_error", "the token store failed", 500);
  // Unknown tokens and other clients' tokens: success, and nothing happens (RFC 7009 section 2.2).
  if (!*record || (*record)->grant.client_id != client->client_id) return {};
  if ((*record)->kind == TokenKind::refresh) {
    (void)m_store.revoke_grant((*record)->grant.grant_id);
    spdlog::info("oauth: client '{}' revoked grant {}", client_log_name(client->name), (*record)->grant.grant_id);
  } else {
    (void)m_store.delete_token(hash);
  }
  return {};
}

std::optional<TokenOwner> AuthorizationServer::verify_access_token(std::string_view token) {
  if (token.substr(0, 7) != "mcp_at_") return std::nullopt;
  const auto record = m_store.token(sha256_hex(token));
  if (!record || !*record) return std::nullopt;
  const auto& found = **record;
  const std::int64_t at = now();
  if (found.kind != TokenKind::access || found.expires < at || !resource_is_ours(found.grant.resource)) {
    return std::nullopt;
  }
  bool touch = false;
  {
    std::lock_guard lock(m_mutex);
    auto& last = m_touched[found.grant.grant_id];
    if (at - last >= kTouchEverySeconds) {
      last = at;
      touch = true;
    }
  }
  if (touch) (void)m_store.touch_grant(found.grant.grant_id, at);
  return TokenOwner{found.grant.grant_id, found.grant.client_name};
}

}  // namespace oauth
