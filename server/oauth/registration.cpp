#include "oauth/registration.hpp"

#include <algorithm>

#include "core/encoding.hpp"
#include "oauth/redirect_uri.hpp"

namespace oauth {

namespace {

using nlohmann::json;

// A JSON array of strings, each within `max_bytes`; nullopt for anything else.
std::optional<std::vector<std::string>> string_list(const json& value, std::size_t max_items, std::size_t max_bytes) {
  if (!value.is_array() || value.size() > max_items) return std::nullopt;
  std::vector<std::string> items;
  for (const auto& item : value) {
    if (!item.is_string() || item.get_ref<const std::string&>().size() > max_bytes) return std::nullopt;
    items.push_back(item.get<std::string>());
  }
  return items;
}

bool is_private_use(std::string_view uri) {
  const auto parts = parse_uri(uri);
  return parts && parts->scheme != "https" && parts->scheme != "http";
}

bool is_loopback_http(std::string_view uri) {
  const auto parts = parse_uri(uri);
  return parts && parts->scheme == "http" && is_loopback_host(parts->host);
}

// The fields both registrations and metadata documents share.
OAuthResult<Client> common_client(const json& metadata, const RegistrationLimits& limits) {
  if (!metadata.is_object()) return oauth_fail("invalid_client_metadata", "client metadata must be a JSON object");
  Client client;
  const auto uris = metadata.contains("redirect_uris")
                        ? string_list(metadata["redirect_uris"], limits.max_redirect_uris, 512)
                        : std::nullopt;
  if (!uris || uris->empty()) {
    return oauth_fail("invalid_redirect_uri", "redirect_uris must be an array of 1 to " +
                                                  std::to_string(limits.max_redirect_uris) + " URIs");
  }
  client.redirect_uris = *uris;
  const auto type = metadata.value("application_type", json());
  if (!type.is_null() && type != "web" && type != "native") {
    return oauth_fail("invalid_client_metadata", "application_type must be \"web\" or \"native\"");
  }
  if (type.is_string()) {
    client.application_type = type.get<std::string>();
  } else {
    // OpenID registration defaults to web; clients of RFC 7591 rarely send the field, and a client
    // whose every redirect is loopback or private-use is a native app by RFC 8252.
    const bool native = std::all_of(uris->begin(), uris->end(),
                                    [](const std::string& uri) { return is_private_use(uri) || is_loopback_http(uri); });
    client.application_type = native ? "native" : "web";
  }
  for (const auto& uri : client.redirect_uris) {
    if (auto ok = check_redirect_uri(uri, client.application_type); !ok) return tl::unexpected(ok.error());
  }
  const auto name = metadata.value("client_name", json());
  if (!name.is_null() && !name.is_string()) return oauth_fail("invalid_client_metadata", "client_name must be a string");
  client.name = display_name(name.is_string() ? name.get<std::string>() : std::string(), limits.max_name_bytes);
  if (client.name.empty()) client.name = "unnamed client";
  if (metadata.contains("grant_types")) {
    const auto grants = string_list(metadata["grant_types"], 8, 64);
    if (!grants) return oauth_fail("invalid_client_metadata", "grant_types must be an array of strings");
    for (const auto& grant : *grants) {
      if (grant != "authorization_code" && grant != "refresh_token") {
        return oauth_fail("invalid_client_metadata", "grant type " + core::printable(grant, 40) +
                                                         " is not offered (authorization_code, refresh_token)");
      }
    }
  }
  if (metadata.contains("response_types")) {
    const auto responses = string_list(metadata["response_types"], 8, 64);
    if (!responses || std::any_of(responses->begin(), responses->end(), [](const auto& r) { return r != "code"; })) {
      return oauth_fail("invalid_client_metadata", "response_types may only contain \"code\"");
    }
  }
  return client;
}

}  // namespace

std::string display_name(std::string_view name, std::size_t max_bytes) {
  if (!core::is_valid_utf8(name)) return {};
  std::string out;
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    const std::size_t length = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (out.size() + length > max_bytes) break;
    const std::string_view character = name.substr(i, length);
    // C0/DEL, C1 (U+0080..U+009F as C2 80..9F), and bidirectional overrides/isolates (U+202A..202E, U+2066..2069).
    const bool control = c < 0x20 || c == 0x7f || (c == 0xc2 && length == 2 && static_cast<unsigned char>(name[i + 1]) < 0xa0);
    const bool bidi = character == "\u202a" || character == "\u202b" || character == "\u202c" || character == "\u202d" ||
                      character == "\u202e" || character == "\u2066" || character == "\u2067" || character == "\u2068" ||
                      character == "\u2069";
    if (!control && !bidi) out.append(character);
    i += length;
  }
  const auto trimmed = core::trim(out);
  return std::string(trimmed);
}

OAuthResult<Client> client_from_registration(const json& metadata, const RegistrationLimits& limits) {
  auto client = common_client(metadata, limits);
  if (!client) return client;
  const auto method = metadata.value("token_endpoint_auth_method", json("client_secret_basic"));
  if (method != "none" && method != "client_secret_post" && method != "client_secret_basic") {
    return oauth_fail("invalid_client_metadata",
                      "token_endpoint_auth_method must be none, client_secret_post or client_secret_basic");
  }
  client->auth_method = method.get<std::string>();
  return client;
}

json registration_response(const Client& client, const std::optional<std::string>& secret) {
  json response = {{"client_id", client.client_id},
                   {"client_id_issued_at", client.created},
                   {"client_name", client.name},
                   {"redirect_uris", client.redirect_uris},
                   {"application_type", client.application_type},
                   {"grant_types", {"authorization_code", "refresh_token"}},
                   {"response_types", {"code"}},
                   {"token_endpoint_auth_method", client.auth_method}};
  if (secret) {
    response["client_secret"] = *secret;
    response["client_secret_expires_at"] = 0;
  }
  return response;
}

bool is_metadata_document_id(std::string_view client_id) {
  const auto parts = parse_uri(client_id);
  return parts && parts->scheme == "https" && !parts->host.empty() && parts->rest.size() > 1 && parts->rest[0] == '/';
}

OAuthResult<Client> client_from_metadata_document(const json& document, std::string_view url,
                                                  const RegistrationLimits& limits) {
  if (!document.is_object() || document.value("client_id", json()) != url) {
    return oauth_fail("invalid_client", "the client metadata document's client_id is not its own URL");
  }
  auto client = common_client(document, limits);
  if (!client) return client;
  const auto method = document.value("token_endpoint_auth_method", json("none"));
  if (method != "none") {
    return oauth_fail("invalid_client", "a client identified by a metadata document must use token_endpoint_auth_method none");
  }
  if (document.contains("client_secret")) {
    return oauth_fail("invalid_client", "a client metadata document must not contain a client_secret");
  }
  client->client_id = std::string(url);
  client->auth_method = "none";
  return client;
}

}  // namespace oauth
