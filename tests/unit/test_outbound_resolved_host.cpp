// The address check of outbound fetches, with names resolved by a test resolver: no test here asks
// an outside name server or connects anywhere.
#include <catch2/catch.hpp>

#include <map>

#include "core/address_policy.hpp"
#include "outbound/fetch_json.hpp"
#include "outbound/resolved_host.hpp"

using core::ErrorKind;

namespace {

// A resolver answering from a table, as a hostile name server could answer.
outbound::Resolver table(std::map<std::string, std::vector<std::string>> answers) {
  return [answers = std::move(answers)](const std::string& host) -> core::Result<std::vector<std::string>> {
    const auto found = answers.find(host);
    if (found == answers.end()) {
      return core::fail(ErrorKind::unavailable, "no such name: " + host);
    }
    return found->second;
  };
}

outbound::HttpsUrl url(const std::string& text) {
  auto parsed = outbound::parse_https_url(text);
  REQUIRE(parsed);
  return *parsed;
}

const outbound::TestOrigin kTestOrigin{"https://localhost:8443", "/nonexistent/ca.pem"};

}  // namespace

TEST_CASE("outbound: a name is refused when any address it resolves to is not public") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"127.0.0.1"}, "loopback"},
      {{"127.255.0.9"}, "loopback"},
      {{"::1"}, "loopback"},
      {{"10.1.2.3"}, "private"},
      {{"172.16.5.4"}, "private"},
      {{"192.168.0.1"}, "private"},
      {{"fd00::1"}, "private"},
      {{"169.254.1.1"}, "link"},
      {{"fe80::1"}, "link"},
      {{"169.254.169.254"}, "metadata"},
      {{"fd00:ec2::254"}, "metadata"},
      {{"100.64.0.1"}, "cgnat"},
      {{"224.0.0.1"}, "multicast"},
      {{"ff02::1"}, "multicast"},
      {{"0.0.0.0"}, "unspecified"},
      {{"::"}, "unspecified"},
      {{"::ffff:127.0.0.1"}, "loopback"},         // IPv4-mapped
      {{"::ffff:169.254.169.254"}, "metadata"},   // IPv4-mapped metadata
      {{"64:ff9b::a9fe:a9fe"}, "metadata"},       // NAT64 of 169.254.169.254
      {{"2002:a00:1::"}, "private"},              // 6to4 of 10.0.0.1
      {{"1.1.1.1", "10.0.0.1"}, "private"},       // one internal address among public ones
      {{"2606:4700::1111", "169.254.169.254"}, "metadata"},
      {{"fe80::1%eth0"}, "cannot be checked"},    // scoped: not judged, refused
      {{"not an address"}, "cannot be checked"},
  };
  for (const auto& [addresses, kind] : cases) {
    CAPTURE(addresses, kind);
    const auto checked = outbound::resolve_public(url("https://evil.example/doc.json"),
                                                  table({{"evil.example", addresses}}), std::nullopt);
    REQUIRE_FALSE(checked);
    CHECK(checked.error().kind == ErrorKind::invalid_argument);
    CHECK(checked.error().message.find(kind) != std::string::npos);
    // The refused address is not told back to whoever chose the URL.
    CHECK(checked.error().message.find(addresses.back()) == std::string::npos);
  }
}

TEST_CASE("outbound: a name whose every address is public gives those addresses") {
  const auto checked = outbound::resolve_public(
      url("https://client.example/doc.json"),
      table({{"client.example", {"1.1.1.1", "2606:4700:0:0::1111", "1.1.1.1"}}}), std::nullopt);
  REQUIRE(checked);
  CHECK(*checked == std::vector<std::string>{"1.1.1.1", "2606:4700::1111"});
}

TEST_CASE("outbound: names that do not resolve, or to nothing, are unavailable") {
  auto checked = outbound::resolve_public(url("https://gone.example/"), table({}), std::nullopt);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().kind == ErrorKind::unavailable);
  checked = outbound::resolve_public(url("https://empty.example/"), table({{"empty.example", {}}}), std::nullopt);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().kind == ErrorKind::unavailable);
}

TEST_CASE("outbound: single-label names are refused") {
  const auto checked =
      outbound::resolve_public(url("https://intranet/doc.json"), table({{"intranet", {"1.1.1.1"}}}), std::nullopt);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message.find("single-label") != std::string::npos);
}

TEST_CASE("outbound: the test origin opens its own loopback addresses and nothing else") {
  const auto resolver = table({{"localhost", {"127.0.0.1", "::1"}},
                               {"rebound.example", {"127.0.0.1"}}});
  // Off: localhost is refused like any loopback name.
  auto checked = outbound::resolve_public(url("https://localhost:8443/doc.json"), resolver, std::nullopt);
  REQUIRE_FALSE(checked);
  // On: exactly that origin, to loopback addresses.
  checked = outbound::resolve_public(url("https://localhost:8443/doc.json"), resolver, kTestOrigin);
  REQUIRE(checked);
  CHECK(*checked == std::vector<std::string>{"127.0.0.1", "::1"});
  // Another port of localhost is another origin.
  CHECK_FALSE(outbound::resolve_public(url("https://localhost:8444/doc.json"), resolver, kTestOrigin));
  // Another name that resolves to loopback stays refused.
  CHECK_FALSE(outbound::resolve_public(url("https://rebound.example:8443/doc.json"), resolver, kTestOrigin));
  // The test origin resolving to a private address is refused: the exception is for loopback only.
  checked = outbound::resolve_public(url("https://localhost:8443/"), table({{"localhost", {"10.0.0.1"}}}), kTestOrigin);
  REQUIRE_FALSE(checked);
  CHECK(checked.error().message.find("private") != std::string::npos);
}

TEST_CASE("outbound: the system resolver reads localhost without asking a name server") {
  const auto addresses = outbound::system_resolver()("localhost");
  REQUIRE(addresses);
  REQUIRE_FALSE(addresses->empty());
  for (const auto& address : *addresses) {
    CAPTURE(address);
    const auto parsed = core::parse_ip_address(address);
    REQUIRE(parsed);
    CHECK(core::classify(*parsed) == core::AddressKind::loopback);
  }
}

TEST_CASE("outbound: fetch_json refuses internal names before connecting") {
  outbound::FetchOptions options;
  options.resolver = table({{"metadata.example", {"169.254.169.254"}},
                            {"internal.example", {"10.0.0.5"}},
                            {"mixed.example", {"1.1.1.1", "192.168.1.1"}}});
  for (const char* target : {"https://metadata.example/latest/meta-data/", "https://internal.example/doc.json",
                             "https://mixed.example/doc.json", "http://internal.example/doc.json",
                             "https://10.0.0.5/doc.json"}) {
    CAPTURE(target);
    const auto fetched = outbound::fetch_json(target, options);
    REQUIRE_FALSE(fetched);
    CHECK(fetched.error().kind == ErrorKind::invalid_argument);
  }
}
