#include "oauth/endpoints.hpp"

#include <spdlog/spdlog.h>

#include "core/encoding.hpp"
#include "oauth/consent_page.hpp"
#include "oauth/crypto.hpp"
#include "oauth/form.hpp"
#include "oauth/redirect_uri.hpp"

namespace oauth {

namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxBody = 16 * 1024;

bool has_content_type(const http::Request& request, std::string_view type) {
  const std::string value = request.header("Content-Type");
  const auto end = value.find(';');
  std::string media(core::trim(std::string_view(value).substr(0, end)));
  for (auto& c : media) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return media == type;
}

void no_store(http::Response& response) {
  response.set_header("Cache-Control", "no-store");
  response.set_header("Pragma", "no-cache");
}

// The documents, token and registration endpoints are called by browser-based clients too; none of
// them uses cookies, so any origin may read their answers.
void allow_any_origin(http::Response& response) {
  response.set_header("Access-Control-Allow-Origin", "*");
  response.set_header("Access-Control-Expose-Headers", "WWW-Authenticate");
}

void send_json(http::Response& response, int status, const json& body) {
  response.status = status;
  no_store(response);
  allow_any_origin(response);
  response.set_content(body.dump(), "application/json");
}

void send_error(http::Response& response, const OAuthError& error) {
  json body = {{"error", error.error}};
  if (!error.description.empty()) body["error_description"] = error.description;
  send_json(response, error.status, body);
  if (error.status == 401) response.set_header("WWW-Authenticate", "Basic realm=\"mcp-sandbox\"");
}

// The form of a POST, or the error to answer with.
OAuthResult<std::map<std::string, std::string>> read_form(http::Request& request) {
  if (!has_content_type(request, "application/x-www-form-urlencoded")) {
    return oauth_fail("invalid_request", "the body must be application/x-www-form-urlencoded");
  }
  const auto& body = request.body(kMaxBody);
  if (!body) return oauth_fail("invalid_request", body.error().message, body.error().status);
  auto form = parse_form(*body);
  if (!form) return oauth_fail("invalid_request", "malformed form, or a parameter given twice");
  return std::move(*form);
}

std::string cookie_name(bool secure) { return secure ? "__Host-mcp_sandbox_csrf" : "mcp_sandbox_csrf"; }

// The value of cookie `name` in the Cookie header, or "".
std::string cookie(const http::Request& request, const std::string& name) {
  const std::string value = request.header("Cookie");
  std::string_view header = value;
  while (!header.empty()) {
    const auto semicolon = header.find(';');
    const std::string_view pair = core::trim(header.substr(0, semicolon));
    header = semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
    const auto eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return std::string(pair.substr(eq + 1));
  }
  return {};
}

// The origin form-action must allow for the redirect after the post ("" for a private-use scheme,
// which browsers do not check).
std::string redirect_origin(std::string_view uri) {
  const auto parts = parse_uri(uri);
  if (!parts || (parts->scheme != "https" && parts->scheme != "http")) return {};
  return parts->scheme + "://" + redirect_destination(uri);
}

void page_headers(http::Response& response, const std::string& nonce, std::string_view redirect_uri) {
  no_store(response);
  response.set_header("Content-Security-Policy", page_security_policy(nonce, redirect_origin(redirect_uri)));
  response.set_header("X-Frame-Options", "DENY");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
}

void error_page(http::Response& response, int status, std::string_view title, std::string_view message) {
  const std::string nonce = random_token(16);
  response.status = status;
  page_headers(response, nonce, {});
  response.set_content(render_error_page(title, message, nonce), "text/html; charset=utf-8");
}

void redirect(http::Response& response, int status, const std::string& location) {
  response.status = status;
  no_store(response);
  response.set_header("Location", location);
}

}  // namespace

std::string bearer_challenge(std::string_view issuer, std::string_view path, bool token_presented) {
  std::string value = "Bearer resource_metadata=\"" + std::string(issuer) + "/.well-known/oauth-protected-resource" +
                      std::string(path) + "\", scope=\"" + std::string(kScope) + "\"";
  if (token_presented) value += ", error=\"invalid_token\"";
  return value;
}

Endpoints::Endpoints(AuthorizationServer& server, EndpointOptions options, metrics::Metrics* metrics)
    : m_server(server),
      m_options(options),
      m_metrics(metrics),
      m_registrations(options.registrations_per_hour, std::chrono::hours(1)),
      m_login_failures(options.login_failures_per_15_minutes, std::chrono::minutes(15)) {}

void Endpoints::event(std::string_view name) {
  if (m_metrics != nullptr) m_metrics->oauth_event(name);
}

void Endpoints::mount(http::Router& routes) {
  const auto preflight = [](http::Request&, http::Response& response) {
    response.status = 204;
    allow_any_origin(response);
    response.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
    response.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type, MCP-Protocol-Version");
    response.set_header("Access-Control-Max-Age", "86400");
  };
  for (const std::string path : {"", "/mcp", "/sse"}) {
    const std::string route = "/.well-known/oauth-protected-resource" + path;
    routes.add("GET", route, [this, path](http::Request& request, http::Response& response) {
      protected_resource(request, response, path);
    });
    routes.add("OPTIONS", route, preflight);
  }
  for (const std::string route : {"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"}) {
    routes.add("GET", route, [this](http::Request& request, http::Response& response) {
      authorization_server_metadata(request, response);
    });
    routes.add("OPTIONS", route, preflight);
  }
  routes.add("POST", "/register", [this](http::Request& request, http::Response& response) { register_client(request, response); });
  routes.add("OPTIONS", "/register", preflight);
  routes.add("GET", "/authorize", [this](http::Request& request, http::Response& response) { authorize_page(request, response); });
  routes.add("POST", "/authorize", [this](http::Request& request, http::Response& response) { authorize_decision(request, response); });
  routes.add("POST", "/token", [this](http::Request& request, http::Response& response) { token(request, response); });
  routes.add("OPTIONS", "/token", preflight);
  routes.add("POST", "/revoke", [this](http::Request& request, http::Response& response) { revoke(request, response); });
  routes.add("OPTIONS", "/revoke", preflight);
}

void Endpoints::protected_resource(const http::Request&, http::Response& response, std::string_view path) {
  send_json(response, 200, m_server.protected_resource_metadata(path));
  response.set_header("Cache-Control", "public, max-age=3600");
}

void Endpoints::authorization_server_metadata(const http::Request&, http::Response& response) {
  send_json(response, 200, m_server.authorization_server_metadata());
  response.set_header("Cache-Control", "public, max-age=3600");
}

void Endpoints::register_client(http::Request& request, http::Response& response) {
  const std::string& address = request.peer().client;
  if (const auto decision = m_registrations.take(address, core::RateClock::now()); !decision.allowed) {
    event("refused");
    send_error(response, OAuthError{429, "temporarily_unavailable", "too many registrations from this address"});
    response.set_header("Retry-After", std::to_string(decision.retry_after.count()));
    return;
  }
  if (!has_content_type(request, "application/json")) {
    send_error(response, OAuthError{400, "invalid_client_metadata", "the body must be application/json"});
    return;
  }
  const auto& body = request.body(kMaxBody);
  if (!body) {
    send_error(response, OAuthError{body.error().status, "invalid_client_metadata", body.error().message});
    return;
  }
  const auto metadata = json::parse(*body, nullptr, false);
  if (metadata.is_discarded()) {
    send_error(response, OAuthError{400, "invalid_client_metadata", "the body is not JSON"});
    return;
  }
  const auto registered = m_server.register_client(metadata, address);
  if (!registered) {
    send_error(response, registered.error());
    return;
  }
  event("registered");
  send_json(response, 201, *registered);
}

void Endpoints::consent_page(http::Response& response, const AuthorizationRequest& request, const std::string& problem,
                             int status) {
  ConsentView view{request.client_name,
                   request.client_id,
                   redirect_destination(request.redirect_uri),
                   request.scope,
                   m_server.sign_request(request),
                   request.csrf,
                   random_token(16),
                   problem};
  response.status = status;
  page_headers(response, view.style_nonce, request.redirect_uri);
  const std::string attributes = m_options.secure_cookies ? "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=600"
                                                          : "; Path=/; HttpOnly; SameSite=Strict; Max-Age=600";
  response.set_header("Set-Cookie", cookie_name(m_options.secure_cookies) + "=" + request.csrf + attributes);
  response.set_content(render_consent_page(view), "text/html; charset=utf-8");
}

void Endpoints::authorize_page(http::Request& request, http::Response& response) {
  const auto params = parse_form(request.head().query);
  if (!params) {
    error_page(response, 400, "Invalid request", "The authorization request is malformed or repeats a parameter.");
    return;
  }
  const auto begun = m_server.begin_authorization(*params);
  if (!begun) {
    if (begun.error().location.empty()) {
      error_page(response, begun.error().error.status, "This client cannot be authorized", begun.error().error.description);
    } else {
      redirect(response, 302, begun.error().location);
    }
    return;
  }
  consent_page(response, *begun, "", 200);
}

void Endpoints::authorize_decision(http::Request& request, http::Response& response) {
  const auto form = read_form(request);
  if (!form) {
    error_page(response, form.error().status, "Invalid request", form.error().description);
    return;
  }
  const auto opened = m_server.open_request(form_value(*form, "request"));
  if (!opened) {
    error_page(response, 400, "This request has expired",
               "Start again from your assistant: the approval form is valid for 10 minutes.");
    return;
  }
  AuthorizationRequest pending = *opened;
  const std::string csrf = form_value(*form, "csrf");
  const std::string from_cookie = cookie(request, cookie_name(m_options.secure_cookies));
  if (csrf.empty() || !same_secret(csrf, pending.csrf) || !same_secret(from_cookie, pending.csrf)) {
    event("refused");
    error_page(response, 403, "Request refused",
               "The form was not sent from this page in this browser (CSRF check). Start again from your assistant.");
    return;
  }
  if (form_value(*form, "decision") == "deny") {
    event("denied");
    redirect(response, 303, m_server.deny(pending));
    return;
  }
  const std::string& address = request.peer().client;
  const auto now = core::RateClock::now();
  if (const auto blocked = m_login_failures.check(address, now); !blocked.allowed) {
    event("refused");
    consent_page(response, pending,
                 "Too many wrong passwords from this address. Try again in " +
                     std::to_string(blocked.retry_after.count()) + " seconds.",
                 429);
    response.set_header("Retry-After", std::to_string(blocked.retry_after.count()));
    return;
  }
  if (!m_server.owner_password_matches(form_value(*form, "password"))) {
    m_login_failures.take(address, now);
    event("login_failed");
    spdlog::warn("oauth: wrong owner password from {} for client '{}'", address, core::printable(pending.client_name, 100));
    pending.csrf = random_token(24);
    consent_page(response, pending, "Wrong password.", 401);
    return;
  }
  event("allowed");
  redirect(response, 303, m_server.approve(pending));
}

void Endpoints::token(http::Request& request, http::Response& response) {
  const auto form = read_form(request);
  if (!form) {
    send_error(response, form.error());
    return;
  }
  const auto issued = m_server.token(*form, request.header("Authorization"));
  if (!issued) {
    if (issued.error().error == "invalid_grant") event("refused");
    send_error(response, issued.error());
    return;
  }
  event(form_value(*form, "grant_type") == "refresh_token" ? "refreshed" : "token_issued");
  send_json(response, 200, *issued);
}

void Endpoints::revoke(http::Request& request, http::Response& response) {
  const auto form = read_form(request);
  if (!form) {
    send_error(response, form.error());
    return;
  }
  const auto revoked = m_server.revoke(*form, request.header("Authorization"));
  if (!revoked) {
    send_error(response, revoked.error());
    return;
  }
  event("revoked");
  response.status = 200;
  no_store(response);
  allow_any_origin(response);
}

}  // namespace oauth
