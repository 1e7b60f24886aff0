#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "oauth/oauth_error.hpp"

namespace oauth {

/// The parts of an absolute URI this server needs to judge a redirect URI or a resource.
struct UriParts {
  std::string scheme;  ///< lower case
  std::string host;    ///< lower case; IPv6 without brackets; empty for a custom scheme without authority
  int port = -1;       ///< -1 when absent
  std::string rest;    ///< path and query as written
};

/// Splits an absolute URI; nullopt for anything else (relative, a fragment, control characters,
/// whitespace, userinfo, a malformed port).
[[nodiscard]] std::optional<UriParts> parse_uri(std::string_view uri);

/// localhost, 127.0.0.0/8 and ::1.
[[nodiscard]] bool is_loopback_host(std::string_view host);

/// Whether `uri` may be a redirect URI of a client of `application_type` ("web" or "native"):
/// https anywhere; http only to a loopback host (RFC 8252 section 7.3); a private-use scheme
/// (RFC 8252 section 7.1, e.g. cursor://…) only for native clients, never one a browser would
/// execute or read (javascript:, data:, file:, …). No fragment, at most 512 characters.
[[nodiscard]] OAuthResult<void> check_redirect_uri(std::string_view uri, std::string_view application_type);

/// Whether a presented redirect URI is the registered one: exactly the same string, except that an
/// http loopback URI may use any port (native apps listen on an ephemeral port, RFC 8252 section 7.3).
[[nodiscard]] bool redirect_uri_matches(std::string_view registered, std::string_view presented);

/// What the consent page shows as the destination: the host (and port), or the scheme for a private-use one.
[[nodiscard]] std::string redirect_destination(std::string_view uri);

}  // namespace oauth
