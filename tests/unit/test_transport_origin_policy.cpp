
#include <catch2/catch.hpp>

#include "support/fake_request.hpp"
#include "transport/origin_policy.hpp"

TEST_CASE("origins are normalized to scheme://host:port") {
  using transport::OriginPolicy;
  CHECK(OriginPolicy::normalize("https://Example.COM") == "https://example.com:443");
  CHECK(OriginPolicy::normalize("http://example.com:80") == "http://example.com:80");
  CHECK(OriginPolicy::normalize("http://example.com") == "http://example.com:80");
  CHECK(OriginPolicy::normalize("http://[::1]:8080") == "http://[::1]:8080");
  CHECK(OriginPolicy::normalize("http://127.0.0.1:08080") == "http://127.0.0.1:8080");
  for (const char* bad : {"null", "", "file://", "ftp://example.com", "http://", "http://a/b", "http://a:99999",
                          "http://a:x", "http://user@a", "http://[::1", "http://[::1]x"}) {
    CAPTURE(bad);
    CHECK_FALSE(OriginPolicy::normalize(bad));
  }
}

TEST_CASE("with an allow list only listed origins pass") {
  const transport::OriginPolicy policy({"https://chat.example.com", "http://localhost:3000"});
  CHECK(policy.allowed_origin("https://chat.example.com", "127.0.0.1", 8080));
  CHECK(policy.allowed_origin("https://CHAT.example.com:443", "127.0.0.1", 8080));
  CHECK(policy.allowed_origin("http://localhost:3000", "127.0.0.1", 8080));
  CHECK_FALSE(policy.allowed_origin("http://localhost:3001", "127.0.0.1", 8080));
  CHECK_FALSE(policy.allowed_origin("http://chat.example.com", "127.0.0.1", 8080));  // scheme differs
  CHECK_FALSE(policy.allowed_origin("https://evil.example.com", "127.0.0.1", 8080));
  CHECK_FALSE(policy.allowed_origin("http://127.0.0.1:8080", "127.0.0.1", 8080));  // the list replaces the default
  CHECK_FALSE(policy.allowed_origin("null", "127.0.0.1", 8080));
}

TEST_CASE("a * entry allows every origin") {
  const transport::OriginPolicy policy({"*"});
  CHECK(policy.allowed_origin("https://anything.example", "127.0.0.1", 8080));
  CHECK(policy.allowed_origin("null", "127.0.0.1", 8080));
}

TEST_CASE("without a list only this host's own origins pass, which stops DNS rebinding") {
  const transport::OriginPolicy policy({});
  CHECK(policy.allowed_origin("http://localhost:8080", "127.0.0.1", 8080));
  CHECK(policy.allowed_origin("http://127.0.0.1:8080", "127.0.0.1", 8080));
  CHECK(policy.allowed_origin("http://[::1]:8080", "::1", 8080));
  CHECK(policy.allowed_origin("http://10.0.0.5:8080", "10.0.0.5", 8080));
  CHECK_FALSE(policy.allowed_origin("http://localhost:3000", "127.0.0.1", 8080));
  CHECK_FALSE(policy.allowed_origin("http://attacker.example:8080", "127.0.0.1", 8080));
}

TEST_CASE("requests without an Origin header pass; a foreign one does not") {
  const transport::OriginPolicy policy({"https://a.example"});
  CHECK(policy.allowed(test_http::FakeRequest()));
  CHECK(policy.allowed(test_http::FakeRequest("GET", "/", {{"Origin", "https://a.example"}})));
  CHECK_FALSE(policy.allowed(test_http::FakeRequest("GET", "/", {{"Origin", "https://b.example"}})));
  http::Response response;
  transport::OriginPolicy::reject(response);
  CHECK(response.status == 403);
}
