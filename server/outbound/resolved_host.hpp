#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "outbound/https_url.hpp"

namespace outbound {

/// The numeric addresses ("192.0.2.1", "2001:db8::1") a host name resolves to, or an error. The
/// system one is getaddrinfo; tests give their own, so that no test asks an outside name server.
using Resolver = std::function<core::Result<std::vector<std::string>>(const std::string& host)>;

/// getaddrinfo (A and AAAA, every address it returns, duplicates removed). Its time is glibc's own
/// (resolv.conf's timeout and attempts); the fetchers' in-flight bound keeps threads waiting on it few.
Resolver system_resolver();

/// The one loopback origin tests may fetch from (with the CA they trust): nothing else ever is.
struct TestOrigin {
  std::string origin;   ///< "https://localhost:PORT"
  std::string ca_file;  ///< PEM file of the CA that signed the test server's certificate
};

/// Resolves `url.host` once and returns the addresses it may connect to: every one, and only when
/// every one is a public unicast address (core/address_policy); a name with a single private,
/// loopback, link-local, shared, multicast, metadata or reserved address among them is refused as a
/// whole, so a DNS answer mixing one public address with an internal one cannot pass. Only when
/// `url` is the test origin may its addresses be loopback (and only loopback). A single-label name
/// (resolved through search domains) is refused, the test origin's "localhost" excepted.
/// Errors: invalid_argument (refused name or address), unavailable (the name does not resolve).
core::Result<std::vector<std::string>> resolve_public(const HttpsUrl& url, const Resolver& resolver,
                                                      const std::optional<TestOrigin>& test_origin);

}  // namespace outbound
