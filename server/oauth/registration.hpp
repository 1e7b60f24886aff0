#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "oauth/oauth_error.hpp"
#include "oauth/store.hpp"

namespace oauth {

/// Bounds on what a client may register: the registration endpoint is open to anyone.
struct RegistrationLimits {
  std::size_t max_redirect_uris = 10;
  std::size_t max_name_bytes = 100;
};

/// A client from RFC 7591 registration metadata, validated: redirect_uris (1..max, each by
/// check_redirect_uri), client_name (UTF-8, no control characters, cut at the bound), application_type
/// ("web" or "native"; "native" when absent and every redirect URI is loopback or private-use),
/// grant_types and response_types within what this server does, token_endpoint_auth_method one of
/// none, client_secret_post, client_secret_basic (RFC 7591's default, client_secret_basic, when absent).
/// The id, secret and times are the caller's to fill.
[[nodiscard]] OAuthResult<Client> client_from_registration(const nlohmann::json& metadata,
                                                           const RegistrationLimits& limits = {});

/// The registration response (RFC 7591 section 3.2.1) for a stored client; `secret` only once, now.
[[nodiscard]] nlohmann::json registration_response(const Client& client, const std::optional<std::string>& secret);

/// A client from its Client ID Metadata Document fetched from `url`: the document's client_id must be
/// that URL, and the client is public (token_endpoint_auth_method "none"; no secrets in a public document).
[[nodiscard]] OAuthResult<Client> client_from_metadata_document(const nlohmann::json& document, std::string_view url,
                                                                const RegistrationLimits& limits = {});

/// Whether `client_id` names a metadata document (an https URL with a path) rather than a registered client.
[[nodiscard]] bool is_metadata_document_id(std::string_view client_id);

/// A name safe to store, log and show: valid UTF-8 without control characters, at most `max_bytes`.
[[nodiscard]] std::string display_name(std::string_view name, std::size_t max_bytes);

}  // namespace oauth
