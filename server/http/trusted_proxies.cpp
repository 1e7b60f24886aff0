#include "http/trusted_proxies.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <optional>

#include "http/url.hpp"

namespace http {

namespace {

// A numeric address as 16 bytes (IPv4 mapped into IPv6), or nullopt when `text` is not one.
std::optional<std::array<unsigned char, 16>> address_bytes(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);
  std::array<unsigned char, 16> bytes{};
  in_addr v4{};
  if (::inet_pton(AF_INET, copy.c_str(), &v4) == 1) {
    bytes[10] = 0xff;
    bytes[11] = 0xff;
    std::memcpy(bytes.data() + 12, &v4, 4);
    return bytes;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, copy.c_str(), &v6) == 1) {
    std::memcpy(bytes.data(), &v6, 16);
    return bytes;
  }
  return std::nullopt;
}

bool is_v4_mapped(const std::array<unsigned char, 16>& bytes) {
  for (int i = 0; i < 10; ++i) {
    if (bytes[static_cast<std::size_t>(i)] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff;
}

}  // namespace

core::Result<TrustedProxies> TrustedProxies::parse(const std::vector<std::string>& entries) {
  TrustedProxies proxies;
  for (const auto& entry : entries) {
    if (entry.empty()) continue;
    const auto slash = entry.find('/');
    const auto bytes = address_bytes(std::string_view(entry).substr(0, slash));
    Range range;
    if (!bytes) return core::fail(core::ErrorKind::invalid_argument, "TRUSTED_PROXIES: '" + entry + "' is not an address or range");
    range.bytes = *bytes;
    const int max_prefix = is_v4_mapped(*bytes) && entry.find(':') == std::string::npos ? 32 : 128;
    int prefix = max_prefix;
    if (slash != std::string::npos) {
      const auto digits = std::string_view(entry).substr(slash + 1);
      const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
      if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() || prefix < 0 ||
          prefix > max_prefix) {
        return core::fail(core::ErrorKind::invalid_argument, "TRUSTED_PROXIES: '" + entry + "' has a bad prefix length");
      }
    }
    range.prefix = max_prefix == 32 ? prefix + 96 : prefix;
    proxies.m_ranges.push_back(range);
  }
  return proxies;
}

bool TrustedProxies::trusted(std::string_view address) const {
  const auto bytes = address_bytes(address);
  if (!bytes) return false;
  for (const auto& range : m_ranges) {
    int bits = range.prefix;
    bool inside = true;
    for (std::size_t i = 0; i < 16 && bits > 0 && inside; ++i, bits -= 8) {
      const unsigned mask = bits >= 8 ? 0xffU : (0xffU << (8 - bits)) & 0xffU;
      inside = ((*bytes)[i] & mask) == (range.bytes[i] & mask);
    }
    if (inside) return true;
  }
  return false;
}

std::string TrustedProxies::client_of(const std::string& peer, const RequestHead& head) const {
  if (m_ranges.empty() || !trusted(peer)) return peer;
  if (const auto connecting = head.header("CF-Connecting-IP")) {
    const auto address = trim_ows(*connecting);
    if (address_bytes(address)) return std::string(address);
  }
  // X-Forwarded-For lists the hops oldest first; each proxy appends who it heard from. The nearest
  // address no trusted proxy added is the client as far as anyone trustworthy can tell.
  if (const auto forwarded = head.header("X-Forwarded-For")) {
    std::string_view list = *forwarded;
    while (!list.empty()) {
      const auto comma = list.rfind(',');
      const auto entry = trim_ows(comma == std::string_view::npos ? list : list.substr(comma + 1));
      list = comma == std::string_view::npos ? std::string_view() : list.substr(0, comma);
      if (!address_bytes(entry)) break;
      if (!trusted(entry)) return std::string(entry);
    }
  }
  return peer;
}

}  // namespace http
