#include <catch2/catch.hpp>

#include <set>

#include "core/address_policy.hpp"

// Every case here is a pure computation over address bytes: nothing connects or resolves.

namespace {

core::AddressKind kind_of(std::string_view text) {
  const auto address = core::parse_ip_address(text);
  REQUIRE(address);
  return core::classify(*address);
}

std::string kind_name(std::string_view text) { return std::string(core::to_string(kind_of(text))); }

}  // namespace

TEST_CASE("address policy: strict parsing takes dotted quads and IPv6, nothing looser") {
  CHECK(core::parse_ip_address("192.0.2.1")->to_string() == "192.0.2.1");
  CHECK(core::parse_ip_address("192.0.2.1")->is_v4());
  CHECK(core::parse_ip_address("2001:db8::1")->to_string() == "2001:db8::1");
  CHECK(core::parse_ip_address("[2001:db8::1]")->to_string() == "2001:db8::1");
  CHECK_FALSE(core::parse_ip_address("2001:db8::1")->is_v4());
  // ::ffff:a.b.c.d is the same address as a.b.c.d.
  CHECK(*core::parse_ip_address("::ffff:127.0.0.1") == *core::parse_ip_address("127.0.0.1"));
  for (const char* loose : {"127.1", "0177.0.0.1", "0x7f.0.0.1", "2130706433", "127.0.0.01", "1.2.3.4.5", "", "localhost",
                            "[1.2.3.4]", "fe80::1%eth0", "1.2.3.4 ", " 1.2.3.4", "1.2.3.256", "::ffff:1.2.3.4.5",
                            "[::1", "::1]", "example.test"}) {
    INFO(loose);
    CHECK_FALSE(core::parse_ip_address(loose));
  }
}

TEST_CASE("address policy: host names a resolver would read as IPv4 literals are literals") {
  const std::pair<const char*, const char*> forms[] = {
      {"127.1", "127.0.0.1"},          {"127.0.1", "127.0.0.1"},       {"2130706433", "127.0.0.1"},
      {"0x7f000001", "127.0.0.1"},     {"0X7F000001", "127.0.0.1"},    {"0177.0.0.1", "127.0.0.1"},
      {"0x7f.0.0.1", "127.0.0.1"},     {"017700000001", "127.0.0.1"},  {"127.0.0.1.", "127.0.0.1"},
      {"169.254.43518", "169.254.169.254"}, {"0xa9fea9fe", "169.254.169.254"}, {"0", "0.0.0.0"},
      {"0x", "0.0.0.0"},               {"10.0x10.0.1", "10.16.0.1"},   {"[::1]", "::1"},
      {"0000000000177.0.0.1", "127.0.0.1"},
  };
  for (const auto& [host, address] : forms) {
    INFO(host);
    const auto parsed = core::parse_host_as_address(host);
    REQUIRE(parsed);
    CHECK(parsed->to_string() == address);
  }
  // Names, and numbers no resolver reads as an address, stay names.
  for (const char* name : {"registry.test", "1.2.3.4.5", "256.1.1.1", "1.2.3.0x100", "4294967296", "08.0.0.1", "0x1g",
                           "1..2", ".1.2.3", "1.2.3.4..", "", "-1", "+1", "1.2.65536", "1.16777216"}) {
    INFO(name);
    CHECK_FALSE(core::parse_host_as_address(name));
  }
}

TEST_CASE("address policy: IPv4 special ranges are each named, their edges included") {
  const std::pair<const char*, const char*> cases[] = {
      {"0.0.0.0", "unspecified"},       {"0.255.255.255", "unspecified"}, {"10.0.0.0", "private"},
      {"10.255.255.255", "private"},    {"100.64.0.0", "cgnat"},          {"100.127.255.255", "cgnat"},
      {"127.0.0.1", "loopback"},        {"127.255.255.254", "loopback"},  {"169.254.0.1", "link_local"},
      {"169.254.169.254", "metadata"},  {"169.254.170.2", "link_local"},  {"172.16.0.0", "private"},
      {"172.31.255.255", "private"},    {"172.17.0.1", "private"},        {"192.168.0.1", "private"},
      {"192.168.255.255", "private"},   {"192.0.0.1", "reserved"},        {"192.0.0.192", "reserved"},
      {"192.0.2.1", "documentation"},   {"198.51.100.7", "documentation"}, {"203.0.113.255", "documentation"},
      {"198.18.0.0", "benchmarking"},   {"198.19.255.255", "benchmarking"}, {"192.88.99.1", "reserved"},
      {"224.0.0.1", "multicast"},       {"239.255.255.250", "multicast"}, {"240.0.0.1", "reserved"},
      {"255.255.255.254", "reserved"},  {"255.255.255.255", "broadcast"}, {"168.63.129.16", "metadata"},
      {"100.100.100.200", "metadata"},
  };
  for (const auto& [address, kind] : cases) {
    INFO(address);
    CHECK(kind_name(address) == kind);
  }
  // Just outside each range is ordinary public space.
  for (const char* outside : {"1.0.0.1", "9.255.255.255", "11.0.0.0", "100.63.255.255", "100.128.0.0", "126.255.255.255",
                              "128.0.0.0", "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
                              "192.167.255.255", "192.169.0.0", "198.17.255.255", "198.20.0.0", "223.255.255.255",
                              "8.8.8.8", "151.101.0.1", "168.63.129.17"}) {
    INFO(outside);
    CHECK(kind_of(outside) == core::AddressKind::public_unicast);
  }
}

TEST_CASE("address policy: IPv6 special ranges, and only 2000::/3 is public") {
  const std::pair<const char*, const char*> cases[] = {
      {"::", "unspecified"},          {"::1", "loopback"},              {"fe80::1", "link_local"},
      {"febf:ffff::1", "link_local"}, {"fc00::1", "private"},           {"fdff:ffff::1", "private"},
      {"fd00:ec2::254", "metadata"},  {"fd00:ec2::253", "private"},     {"ff02::1", "multicast"},
      {"ff0e::1", "multicast"},       {"2001:db8::1", "documentation"}, {"3fff::1", "documentation"},
      {"3fff:0fff::1", "documentation"}, {"2001:2::1", "benchmarking"}, {"2001::1", "reserved"},  // Teredo
      {"2001:10::1", "reserved"},     {"2001:20::1", "reserved"},       {"fec0::1", "reserved"},
      {"100::1", "reserved"},         {"4000::1", "reserved"},          {"1fff:ffff::1", "reserved"},
      {"64:ff9b:1::1", "reserved"},   {"::ffff:0:1.2.3.4", "reserved"},
  };
  for (const auto& [address, kind] : cases) {
    INFO(address);
    CHECK(kind_name(address) == kind);
  }
  for (const char* outside : {"2000::1", "2001:200::1", "2001:4860:4860::8888", "2a00:1450::1", "3ffe::1", "3fff:1000::1",
                              "2600::1"}) {
    INFO(outside);
    CHECK(kind_of(outside) == core::AddressKind::public_unicast);
  }
}

TEST_CASE("address policy: IPv6 forms that carry an IPv4 address are judged by it") {
  const std::pair<const char*, const char*> cases[] = {
      {"::ffff:127.0.0.1", "loopback"},       {"::ffff:7f00:1", "loopback"},
      {"::ffff:169.254.169.254", "metadata"}, {"::ffff:a9fe:a9fe", "metadata"},
      {"::ffff:10.1.2.3", "private"},         {"::ffff:0.0.0.0", "unspecified"},
      {"::127.0.0.1", "loopback"},            {"::10.0.0.1", "private"},
      {"::8.8.8.8", "reserved"},  // IPv4-compatible: deprecated, never a destination we need
      {"64:ff9b::127.0.0.1", "loopback"},     {"64:ff9b::a9fe:a9fe", "metadata"},
      {"64:ff9b::192.168.1.1", "private"},    {"2002:7f00:1::", "loopback"},
      {"2002:a9fe:a9fe::1", "metadata"},      {"2002:c0a8:0101::1", "private"},
      {"2002:0a00:0001:1:2:3:4:5", "private"},
  };
  for (const auto& [address, kind] : cases) {
    INFO(address);
    CHECK(kind_name(address) == kind);
  }
  CHECK(kind_of("::ffff:8.8.8.8") == core::AddressKind::public_unicast);
  CHECK(kind_of("64:ff9b::8.8.8.8") == core::AddressKind::public_unicast);
  CHECK(kind_of("2002:0808:0808::1") == core::AddressKind::public_unicast);
}

TEST_CASE("address policy: the hidden spellings of loopback and metadata are refused") {
  const core::AddressPolicy policy;
  for (const char* host : {"127.1", "2130706433", "0x7f000001", "0177.0.0.1", "169.254.43518", "0xa9fea9fe", "0",
                           "::ffff:127.0.0.1", "[::ffff:7f00:1]", "[::1]", "[fd00:ec2::254]", "[64:ff9b::a9fe:a9fe]",
                           "[2002:a9fe:a9fe::]", "127.0.0.1."}) {
    INFO(host);
    const auto address = core::parse_host_as_address(host);
    REQUIRE(address);
    CHECK_FALSE(policy.check(*address).allowed);
  }
}

TEST_CASE("address policy: ranges parse strictly and hold what they say") {
  const auto ten = core::AddressRange::parse("10.0.0.0/8");
  REQUIRE(ten);
  CHECK(ten->prefix == 104);
  CHECK(ten->to_string() == "10.0.0.0/8");
  CHECK(ten->contains(*core::parse_ip_address("10.200.1.1")));
  CHECK(ten->contains(*core::parse_ip_address("::ffff:10.200.1.1")));
  CHECK_FALSE(ten->contains(*core::parse_ip_address("11.0.0.0")));
  const auto one = core::AddressRange::parse("172.18.0.5");
  REQUIRE(one);
  CHECK(one->to_string() == "172.18.0.5/32");
  CHECK(one->contains(*core::parse_ip_address("172.18.0.5")));
  CHECK_FALSE(one->contains(*core::parse_ip_address("172.18.0.6")));
  const auto v6 = core::AddressRange::parse("fd00:1::/32");
  REQUIRE(v6);
  CHECK(v6->contains(*core::parse_ip_address("fd00:1::9")));
  CHECK_FALSE(v6->contains(*core::parse_ip_address("fd00:2::9")));
  const auto all = core::AddressRange::parse("0.0.0.0/0");
  REQUIRE(all);
  CHECK(all->contains(*core::parse_ip_address("8.8.8.8")));
  CHECK_FALSE(all->contains(*core::parse_ip_address("2001:4860::1")));  // an IPv4 range holds no IPv6 address
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "10.0.0.1/8", "::/129", "example/8",
                          "", "/8", "10.0.0.0/08/1", "fd00::1/8"}) {
    INFO(bad);
    const auto parsed = core::AddressRange::parse(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().kind == core::ErrorKind::invalid_argument);
  }
}

TEST_CASE("address policy: public allowed, everything special refused, operator ranges open only what they name") {
  const core::AddressPolicy closed;
  const auto verdict = closed.check(*core::parse_ip_address("151.101.0.1"));
  CHECK(verdict.allowed);
  CHECK_FALSE(verdict.by_permitted_range);
  for (const char* refused : {"127.0.0.1", "10.0.0.1", "172.17.0.1", "192.168.1.1", "100.64.0.1", "169.254.169.254",
                              "0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1",
                              "fd00:ec2::254", "ff02::1", "::ffff:10.0.0.1"}) {
    INFO(refused);
    const auto no = closed.check(*core::parse_ip_address(refused));
    CHECK_FALSE(no.allowed);
    CHECK(no.kind != core::AddressKind::public_unicast);
  }

  // An operator's mirror at 172.18.0.0/16 opens that range and nothing else.
  const core::AddressPolicy mirror({*core::AddressRange::parse("172.18.0.0/16")});
  const auto inside = mirror.check(*core::parse_ip_address("172.18.3.4"));
  CHECK(inside.allowed);
  CHECK(inside.by_permitted_range);
  CHECK(inside.kind == core::AddressKind::private_use);
  CHECK_FALSE(mirror.check(*core::parse_ip_address("172.17.0.1")).allowed);
  CHECK_FALSE(mirror.check(*core::parse_ip_address("127.0.0.1")).allowed);

  // A broad range never opens the metadata service by accident; only naming the address does.
  const core::AddressPolicy broad({*core::AddressRange::parse("169.254.0.0/16"), *core::AddressRange::parse("fd00::/8")});
  CHECK(broad.check(*core::parse_ip_address("169.254.1.1")).allowed);
  CHECK_FALSE(broad.check(*core::parse_ip_address("169.254.169.254")).allowed);
  CHECK_FALSE(broad.check(*core::parse_ip_address("::ffff:169.254.169.254")).allowed);
  CHECK_FALSE(broad.check(*core::parse_ip_address("fd00:ec2::254")).allowed);
  const core::AddressPolicy exact({*core::AddressRange::parse("169.254.169.254/32")});
  CHECK(exact.check(*core::parse_ip_address("169.254.169.254")).allowed);
}

TEST_CASE("address policy: every kind has a distinct bounded name") {
  using K = core::AddressKind;
  const K kinds[] = {K::public_unicast, K::unspecified, K::loopback,      K::private_use,  K::shared_cgnat, K::link_local,
                     K::metadata,       K::multicast,   K::broadcast,     K::documentation, K::benchmarking, K::reserved};
  std::set<std::string_view> names;
  for (const auto kind : kinds) names.insert(core::to_string(kind));
  CHECK(names.size() == std::size(kinds));
}
