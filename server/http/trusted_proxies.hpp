#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "http/message.hpp"

namespace http {

/// The proxies whose word about the client's address is believed (TRUSTED_PROXIES). Behind a
/// Cloudflare Tunnel or nginx every connection comes from the proxy, so per-address limits would
/// see one client; a request from a trusted proxy is attributed to the address in its
/// CF-Connecting-IP header, else to the nearest untrusted address in X-Forwarded-For. From anyone
/// else both headers are ignored. Thread-safe (immutable).
class TrustedProxies {
 public:
  TrustedProxies() = default;
  /// Entries are addresses or CIDR ranges ("127.0.0.1", "172.16.0.0/12", "::1", "fd00::/8");
  /// a malformed one is an error naming it.
  static core::Result<TrustedProxies> parse(const std::vector<std::string>& entries);

  /// Whether `address` (a numeric IPv4 or IPv6 address) is one of the trusted proxies.
  [[nodiscard]] bool trusted(std::string_view address) const;

  /// Who sent a request that arrived from `peer` with `head`: see the class comment.
  [[nodiscard]] std::string client_of(const std::string& peer, const RequestHead& head) const;

  [[nodiscard]] bool empty() const { return m_ranges.empty(); }

 private:
  struct Range {
    std::array<unsigned char, 16> bytes{};  ///< IPv4 as an IPv4-mapped IPv6 address
    int prefix = 128;
  };
  std::vector<Range> m_ranges;
};

}  // namespace http
