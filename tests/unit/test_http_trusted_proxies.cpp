#include <catch2/catch.hpp>

#include "http/trusted_proxies.hpp"

namespace {

http::RequestHead with(std::vector<http::Header> headers) {
  http::RequestHead head;
  head.headers = std::move(headers);
  return head;
}

}  // namespace

TEST_CASE("trusted proxies: addresses and ranges, v4 and v6", "[trusted_proxies]") {
  const auto proxies = http::TrustedProxies::parse({"127.0.0.1", "172.16.0.0/12", "fd00::/8"}).value();
  CHECK(proxies.trusted("127.0.0.1"));
  CHECK_FALSE(proxies.trusted("127.0.0.2"));
  CHECK(proxies.trusted("172.16.0.1"));
  CHECK(proxies.trusted("172.31.255.254"));
  CHECK_FALSE(proxies.trusted("172.32.0.1"));
  CHECK(proxies.trusted("fd12::1"));
  CHECK_FALSE(proxies.trusted("fe80::1"));
  CHECK_FALSE(proxies.trusted("not an address"));
  CHECK_FALSE(http::TrustedProxies::parse({"10.0.0.0/33"}));
  CHECK_FALSE(http::TrustedProxies::parse({"example.com"}));
  CHECK_FALSE(http::TrustedProxies::parse({"10.0.0.0/"}));
}

TEST_CASE("trusted proxies: the client a trusted proxy names, and nobody else's word", "[trusted_proxies]") {
  const auto proxies = http::TrustedProxies::parse({"172.18.0.0/16"}).value();
  const auto cf = with({{"CF-Connecting-IP", "203.0.113.7"}});
  CHECK(proxies.client_of("172.18.0.5", cf) == "203.0.113.7");
  CHECK(proxies.client_of("198.51.100.1", cf) == "198.51.100.1");  // not a proxy: header ignored
  CHECK(http::TrustedProxies().client_of("172.18.0.5", cf) == "172.18.0.5");  // none configured
  // X-Forwarded-For: the nearest address no trusted proxy added.
  const auto xff = with({{"X-Forwarded-For", "10.9.9.9, 203.0.113.9, 172.18.0.7"}});
  CHECK(proxies.client_of("172.18.0.5", xff) == "203.0.113.9");
  // Garbage is not an address: the proxy itself is all we know.
  CHECK(proxies.client_of("172.18.0.5", with({{"CF-Connecting-IP", "evil\x01"}})) == "172.18.0.5");
  CHECK(proxies.client_of("172.18.0.5", with({{"X-Forwarded-For", "a-name"}})) == "172.18.0.5");
}
