#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace core {

/// An IP address as 16 bytes in network order; an IPv4 address is held IPv4-mapped
/// (::ffff:a.b.c.d), so one comparison covers both families.
struct IpAddress {
  std::array<std::uint8_t, 16> bytes{};

  /// The address from 4 IPv4 bytes in network order.
  static IpAddress v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d);
  /// True for an IPv4 address (held IPv4-mapped).
  [[nodiscard]] bool is_v4() const;
  /// Canonical text: dotted quad for IPv4, RFC 5952 for IPv6.
  [[nodiscard]] std::string to_string() const;
  bool operator==(const IpAddress&) const = default;
};

/// A strict numeric address: a dotted quad of four decimal parts without leading zeros, or an
/// IPv6 address (optionally in [brackets], no zone). Anything else (a name, "127.1", "0x7f.0.0.1",
/// "2130706433") is nullopt; see `parse_host_as_address` for the forms resolvers also accept.
std::optional<IpAddress> parse_ip_address(std::string_view text);

/// What a host name means as an address to a resolver that follows inet_aton (glibc's
/// getaddrinfo, curl, most HTTP clients): besides the strict forms, "127.1", "0177.0.0.1",
/// "0x7f000001" and "2130706433" are IPv4 literals. A host that is none of these is nullopt
/// (a name to resolve). A proxy must classify these as literals, or a caller hides a loopback
/// address in a "name".
std::optional<IpAddress> parse_host_as_address(std::string_view host);

/// Why an address is, or is not, a destination a sandboxed run may reach. Every kind but
/// `public_unicast` is refused by default.
enum class AddressKind {
  public_unicast,  ///< globally routable unicast
  unspecified,     ///< 0.0.0.0/8, ::
  loopback,        ///< 127.0.0.0/8, ::1
  private_use,     ///< 10/8, 172.16/12, 192.168/16, fc00::/7 (unique local)
  shared_cgnat,    ///< 100.64.0.0/10 (carrier-grade NAT, also some clouds' internal services)
  link_local,      ///< 169.254.0.0/16, fe80::/10
  metadata,        ///< cloud instance metadata: 169.254.169.254, fd00:ec2::254, 168.63.129.16, 100.100.100.200
  multicast,       ///< 224.0.0.0/4, ff00::/8
  broadcast,       ///< 255.255.255.255
  documentation,   ///< 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20
  benchmarking,    ///< 198.18.0.0/15, 2001:2::/48
  reserved,        ///< everything else special: 240/4, 192.0.0/24, 6to4 relay, IPv6 outside 2000::/3, Teredo, ...
};

/// Stable lower-case name of a kind: a bounded label for logs and metrics.
std::string_view to_string(AddressKind kind);

/// What `address` is. IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) and 6to4 (2002::/16)
/// addresses are judged by the IPv4 address they carry, so no IPv6 spelling reaches a refused
/// IPv4 range. Pure: no resolution, no I/O.
AddressKind classify(const IpAddress& address);

/// A CIDR range ("10.0.0.0/8", "fd00::/8", "192.0.2.7" for one address).
struct AddressRange {
  IpAddress base;
  int prefix = 128;  ///< over the 16-byte form: an IPv4 /24 is 96 + 24

  /// Parses `text`; an error names it. The base may not have bits set past the prefix.
  static Result<AddressRange> parse(std::string_view text);
  [[nodiscard]] bool contains(const IpAddress& address) const;
  [[nodiscard]] std::string to_string() const;
};

/// The rule a filtering proxy applies to every address it is about to connect to: public
/// unicast is allowed; everything else is refused unless an operator listed the range as
/// permitted (an internal package mirror, say). Cloud metadata addresses stay refused unless
/// a permitted range names exactly that address, because a broad private range must never
/// open them by accident. Immutable, thread-safe.
class AddressPolicy {
 public:
  AddressPolicy() = default;
  explicit AddressPolicy(std::vector<AddressRange> permitted) : m_permitted(std::move(permitted)) {}

  /// The decision for one address.
  struct Verdict {
    bool allowed = false;
    AddressKind kind = AddressKind::reserved;
    bool by_permitted_range = false;  ///< allowed only because an operator range covers it
  };

  [[nodiscard]] Verdict check(const IpAddress& address) const;
  [[nodiscard]] const std::vector<AddressRange>& permitted() const { return m_permitted; }

 private:
  std::vector<AddressRange> m_permitted;
};

}  // namespace core
