#include "core/address_policy.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace core {

namespace {

// One IPv4 range in the plain four-byte form, for the table below.
struct V4Range {
  std::uint32_t base;
  int prefix;
  AddressKind kind;
};

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

// Most specific first: the first range that holds an address names its kind. The metadata
// addresses sit inside link-local, CGNAT or public space, so they come before those.
constexpr V4Range kV4Ranges[] = {
    {v4(169, 254, 169, 254), 32, AddressKind::metadata},  // AWS, GCP, Azure, OpenStack, ...
    {v4(168, 63, 129, 16), 32, AddressKind::metadata},    // Azure's host (wireserver), a public address
    {v4(100, 100, 100, 200), 32, AddressKind::metadata},  // Alibaba Cloud
    {v4(255, 255, 255, 255), 32, AddressKind::broadcast},
    {v4(0, 0, 0, 0), 8, AddressKind::unspecified},
    {v4(10, 0, 0, 0), 8, AddressKind::private_use},
    {v4(100, 64, 0, 0), 10, AddressKind::shared_cgnat},
    {v4(127, 0, 0, 0), 8, AddressKind::loopback},
    {v4(169, 254, 0, 0), 16, AddressKind::link_local},
    {v4(172, 16, 0, 0), 12, AddressKind::private_use},
    {v4(192, 0, 0, 0), 24, AddressKind::reserved},  // IETF protocol assignments (incl. 192.0.0.192 metadata of some clouds)
    {v4(192, 0, 2, 0), 24, AddressKind::documentation},
    {v4(192, 31, 196, 0), 24, AddressKind::reserved},  // AS112
    {v4(192, 52, 193, 0), 24, AddressKind::reserved},  // AMT
    {v4(192, 88, 99, 0), 24, AddressKind::reserved},   // deprecated 6to4 relay anycast
    {v4(192, 168, 0, 0), 16, AddressKind::private_use},
    {v4(192, 175, 48, 0), 24, AddressKind::reserved},  // direct delegation AS112
    {v4(198, 18, 0, 0), 15, AddressKind::benchmarking},
    {v4(198, 51, 100, 0), 24, AddressKind::documentation},
    {v4(203, 0, 113, 0), 24, AddressKind::documentation},
    {v4(224, 0, 0, 0), 4, AddressKind::multicast},
    {v4(240, 0, 0, 0), 4, AddressKind::reserved},
};

AddressKind classify_v4(std::uint32_t address) {
  for (const auto& range : kV4Ranges) {
    const std::uint32_t mask = range.prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - range.prefix);
    if ((address & mask) == (range.base & mask)) return range.kind;
  }
  return AddressKind::public_unicast;
}

std::uint32_t v4_at(const std::array<std::uint8_t, 16>& bytes, std::size_t offset) {
  return (std::uint32_t{bytes[offset]} << 24) | (std::uint32_t{bytes[offset + 1]} << 16) |
         (std::uint32_t{bytes[offset + 2]} << 8) | std::uint32_t{bytes[offset + 3]};
}

bool starts_with_bytes(const std::array<std::uint8_t, 16>& bytes, std::initializer_list<std::uint8_t> prefix) {
  std::size_t i = 0;
  for (const auto byte : prefix) {
    if (bytes[i++] != byte) return false;
  }
  return true;
}

bool all_zero(const std::array<std::uint8_t, 16>& bytes, std::size_t from, std::size_t to) {
  for (std::size_t i = from; i < to; ++i) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

// Whether the first `bits` bits of `a` and `b` agree.
bool same_prefix(const std::array<std::uint8_t, 16>& a, const std::array<std::uint8_t, 16>& b, int bits) {
  for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
    const unsigned mask = bits >= 8 ? 0xffU : (0xffU << (8 - bits)) & 0xffU;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

AddressKind classify_v6(const std::array<std::uint8_t, 16>& b) {
  // Forms that carry an IPv4 address are judged by it: ::ffff:a.b.c.d (mapped), ::a.b.c.d
  // (compatible, deprecated but still routed by some stacks), 64:ff9b::a.b.c.d (NAT64) and
  // 2002:aabb:ccdd::/48 (6to4). :: and ::1 are themselves.
  if (all_zero(b, 0, 16)) return AddressKind::unspecified;
  if (all_zero(b, 0, 15) && b[15] == 1) return AddressKind::loopback;
  if (all_zero(b, 0, 10) && b[10] == 0xff && b[11] == 0xff) return classify_v4(v4_at(b, 12));
  if (all_zero(b, 0, 12)) {
    const auto kind = classify_v4(v4_at(b, 12));
    return kind == AddressKind::public_unicast ? AddressKind::reserved : kind;
  }
  if (starts_with_bytes(b, {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0})) return AddressKind::reserved;  // SIIT ::ffff:0:a.b.c.d
  if (starts_with_bytes(b, {0x00, 0x64, 0xff, 0x9b}) && all_zero(b, 4, 12)) return classify_v4(v4_at(b, 12));
  if (starts_with_bytes(b, {0x00, 0x64, 0xff, 0x9b, 0x00, 0x01})) return AddressKind::reserved;  // local-use NAT64
  if (starts_with_bytes(b, {0x20, 0x02})) return classify_v4(v4_at(b, 2));
  // AWS's IPv6 instance metadata service, inside unique-local space.
  static constexpr std::array<std::uint8_t, 16> kAwsMetadata{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54};
  if (b == kAwsMetadata) return AddressKind::metadata;
  if ((b[0] & 0xfe) == 0xfc) return AddressKind::private_use;                 // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressKind::link_local;  // fe80::/10
  if (b[0] == 0xff) return AddressKind::multicast;
  if (starts_with_bytes(b, {0x20, 0x01, 0x0d, 0xb8})) return AddressKind::documentation;
  if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0) return AddressKind::documentation;  // 3fff::/20
  if (starts_with_bytes(b, {0x20, 0x01, 0x00, 0x02, 0x00, 0x00})) return AddressKind::benchmarking;
  // 2001::/23 holds Teredo (2001::/32, an obfuscated IPv4 address), ORCHID and other protocol
  // assignments; none is a destination a package download needs.
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] & 0xfe) == 0) return AddressKind::reserved;
  // Only 2000::/3 is global unicast; the rest (fec0::/10 site-local, 100::/64 discard, ...) is not.
  if ((b[0] & 0xe0) != 0x20) return AddressKind::reserved;
  return AddressKind::public_unicast;
}

// One part of an inet_aton-style IPv4 literal: decimal, 0-prefixed octal or 0x-prefixed hex.
std::optional<std::uint64_t> aton_part(std::string_view part) {
  if (part.empty()) return std::nullopt;
  int base = 10;
  if (part.size() > 1 && part[0] == '0' && (part[1] == 'x' || part[1] == 'X')) {
    base = 16;
    part.remove_prefix(2);
    if (part.empty()) return std::uint64_t{0};  // "0x" alone is zero to inet_aton
  } else if (part.size() > 1 && part[0] == '0') {
    base = 8;
    part.remove_prefix(1);
  }
  if (part.size() > 16) return std::nullopt;
  std::uint64_t value = 0;
  const auto parsed = std::from_chars(part.data(), part.data() + part.size(), value, base);
  if (parsed.ec != std::errc() || parsed.ptr != part.data() + part.size()) return std::nullopt;
  return value;
}

}  // namespace

IpAddress IpAddress::v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
  IpAddress address;
  address.bytes[10] = 0xff;
  address.bytes[11] = 0xff;
  address.bytes[12] = a;
  address.bytes[13] = b;
  address.bytes[14] = c;
  address.bytes[15] = d;
  return address;
}

bool IpAddress::is_v4() const { return all_zero(bytes, 0, 10) && bytes[10] == 0xff && bytes[11] == 0xff; }

std::string IpAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_v4()) {
    ::inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
  } else {
    ::inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  }
  return text;
}

std::optional<IpAddress> parse_ip_address(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
    if (text.find(':') == std::string_view::npos) return std::nullopt;  // [1.2.3.4] is not a URL host
  }
  if (text.empty() || text.size() > 45) return std::nullopt;
  const std::string copy(text);
  IpAddress address;
  in_addr four{};
  // glibc's inet_pton takes exactly four decimal parts and refuses leading zeros.
  if (::inet_pton(AF_INET, copy.c_str(), &four) == 1) {
    address.bytes[10] = 0xff;
    address.bytes[11] = 0xff;
    std::memcpy(address.bytes.data() + 12, &four, 4);
    return address;
  }
  in6_addr six{};
  if (::inet_pton(AF_INET6, copy.c_str(), &six) == 1) {
    std::memcpy(address.bytes.data(), &six, 16);
    return address;
  }
  return std::nullopt;
}

std::optional<IpAddress> parse_host_as_address(std::string_view host) {
  if (auto strict = parse_ip_address(host)) return strict;
  // A fully qualified "127.0.0.1." is still that address to most resolvers.
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 64) return std::nullopt;
  std::uint64_t parts[4] = {};
  std::size_t count = 0;
  while (true) {
    const auto dot = host.find('.');
    if (count == 4) return std::nullopt;
    const auto value = aton_part(host.substr(0, dot));
    if (!value) return std::nullopt;
    parts[count++] = *value;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  // inet_aton: a.b.c.d, a.b.c (c fills 16 bits), a.b (b fills 24 bits), a (32 bits).
  for (std::size_t i = 0; i + 1 < count; ++i) {
    if (parts[i] > 0xff) return std::nullopt;
  }
  const int last_bits = 8 * static_cast<int>(5 - count);
  if (parts[count - 1] >= (std::uint64_t{1} << last_bits)) return std::nullopt;
  std::uint64_t value = parts[count - 1];
  for (std::size_t i = 0; i + 1 < count; ++i) value |= parts[i] << (24 - 8 * i);
  return IpAddress::v4(static_cast<std::uint8_t>(value >> 24), static_cast<std::uint8_t>(value >> 16),
                       static_cast<std::uint8_t>(value >> 8), static_cast<std::uint8_t>(value));
}

std::string_view to_string(AddressKind kind) {
  switch (kind) {
    case AddressKind::public_unicast: return "public";
    case AddressKind::unspecified: return "unspecified";
    case AddressKind::loopback: return "loopback";
    case AddressKind::private_use: return "private";
    case AddressKind::shared_cgnat: return "cgnat";
    case AddressKind::link_local: return "link_local";
    case AddressKind::metadata: return "metadata";
    case AddressKind::multicast: return "multicast";
    case AddressKind::broadcast: return "broadcast";
    case AddressKind::documentation: return "documentation";
    case AddressKind::benchmarking: return "benchmarking";
    case AddressKind::reserved: return "reserved";
  }
  return "reserved";
}

AddressKind classify(const IpAddress& address) {
  if (address.is_v4()) return classify_v4(v4_at(address.bytes, 12));
  return classify_v6(address.bytes);
}

Result<AddressRange> AddressRange::parse(std::string_view text) {
  const auto slash = text.find('/');
  const auto base = parse_ip_address(text.substr(0, slash));
  if (!base) return fail(ErrorKind::invalid_argument, "'" + std::string(text) + "' is not an address or range");
  AddressRange range;
  range.base = *base;
  const bool four = base->is_v4() && text.substr(0, slash).find(':') == std::string_view::npos;
  const int max_prefix = four ? 32 : 128;
  int prefix = max_prefix;
  if (slash != std::string_view::npos) {
    const auto digits = text.substr(slash + 1);
    const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() || prefix < 0 ||
        prefix > max_prefix) {
      return fail(ErrorKind::invalid_argument, "'" + std::string(text) + "' has a bad prefix length");
    }
  }
  range.prefix = four ? prefix + 96 : prefix;
  IpAddress masked;
  for (std::size_t i = 0; i < 16; ++i) {
    const int bits = range.prefix - static_cast<int>(8 * i);
    const unsigned mask = bits >= 8 ? 0xffU : bits <= 0 ? 0U : (0xffU << (8 - bits)) & 0xffU;
    masked.bytes[i] = static_cast<std::uint8_t>(range.base.bytes[i] & mask);
  }
  if (!(masked == range.base)) {
    return fail(ErrorKind::invalid_argument, "'" + std::string(text) + "' has address bits set past its prefix length");
  }
  return range;
}

bool AddressRange::contains(const IpAddress& address) const { return same_prefix(address.bytes, base.bytes, prefix); }

std::string AddressRange::to_string() const {
  const int shown = base.is_v4() && prefix >= 96 ? prefix - 96 : prefix;
  return base.to_string() + "/" + std::to_string(shown);
}

AddressPolicy::Verdict AddressPolicy::check(const IpAddress& address) const {
  Verdict verdict;
  verdict.kind = classify(address);
  if (verdict.kind == AddressKind::public_unicast) {
    verdict.allowed = true;
    return verdict;
  }
  for (const auto& range : m_permitted) {
    if (!range.contains(address)) continue;
    if (verdict.kind == AddressKind::metadata && range.prefix != 128) continue;
    verdict.allowed = true;
    verdict.by_permitted_range = true;
    return verdict;
  }
  return verdict;
}

}  // namespace core
