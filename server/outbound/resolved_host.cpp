#include "outbound/resolved_host.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <memory>

#include "core/address_policy.hpp"

namespace outbound {

namespace {

using core::ErrorKind;

struct AddrinfoDeleter {
  void operator()(addrinfo* list) const { freeaddrinfo(list); }
};

}  // namespace

Resolver system_resolver() {
  return [](const std::string& host) -> core::Result<std::vector<std::string>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int status = getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (status != 0) {
      return core::fail(ErrorKind::unavailable, "the name " + host + " does not resolve: " + gai_strerror(status));
    }
    const std::unique_ptr<addrinfo, AddrinfoDeleter> owned(found);
    std::vector<std::string> addresses;
    for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
      char text[NI_MAXHOST] = {};
      if (getnameinfo(entry->ai_addr, entry->ai_addrlen, text, sizeof text, nullptr, 0, NI_NUMERICHOST) != 0) {
        continue;
      }
      if (std::find(addresses.begin(), addresses.end(), text) == addresses.end()) {
        addresses.emplace_back(text);
      }
    }
    return addresses;
  };
}

core::Result<std::vector<std::string>> resolve_public(const HttpsUrl& url, const Resolver& resolver,
                                                      const std::optional<TestOrigin>& test_origin) {
  const bool is_test_origin = test_origin && url.origin() == test_origin->origin;
  if (url.host.find('.') == std::string::npos && !is_test_origin) {
    return core::fail(ErrorKind::invalid_argument,
                      "refused host " + url.host + ": a single-label name is not a public host name");
  }
  auto resolved = resolver(url.host);
  if (!resolved) {
    return core::fail(resolved.error());
  }
  if (resolved->empty()) {
    return core::fail(ErrorKind::unavailable, "the name " + url.host + " resolves to no address");
  }
  std::vector<std::string> checked;
  for (const auto& text : *resolved) {
    const auto address = core::parse_ip_address(text);
    if (!address) {
      // A scoped IPv6 address (fe80::1%eth0) or anything else we cannot judge: refused, never guessed.
      return core::fail(ErrorKind::invalid_argument,
                        "refused host " + url.host + ": it resolves to an address that cannot be checked");
    }
    const core::AddressKind kind = core::classify(*address);
    const bool allowed = kind == core::AddressKind::public_unicast ||
                         (is_test_origin && kind == core::AddressKind::loopback);
    if (!allowed) {
      // The address itself is not named back to whoever chose the URL: it would map internal names.
      return core::fail(ErrorKind::invalid_argument, "refused host " + url.host + ": it resolves to a " +
                                                         std::string(core::to_string(kind)) +
                                                         " address, and only public addresses are fetched");
    }
    const std::string canonical = address->to_string();
    if (std::find(checked.begin(), checked.end(), canonical) == checked.end()) {
      checked.push_back(canonical);
    }
  }
  return checked;
}

}  // namespace outbound
