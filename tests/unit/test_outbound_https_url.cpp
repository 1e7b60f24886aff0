#include <catch2/catch.hpp>

#include "outbound/https_url.hpp"

using core::ErrorKind;

TEST_CASE("outbound: an https URL with a host name is taken apart") {
  auto url = outbound::parse_https_url("https://Client.Example.com/oauth/metadata.json?v=1");
  REQUIRE(url);
  CHECK(url->text == "https://Client.Example.com/oauth/metadata.json?v=1");
  CHECK(url->host == "client.example.com");
  CHECK(url->port == 443);
  CHECK(url->target == "/oauth/metadata.json?v=1");
  CHECK(url->origin() == "https://client.example.com:443");
  CHECK(url->request_url() == "https://client.example.com:443/oauth/metadata.json?v=1");

  url = outbound::parse_https_url("https://app.example:8443");
  REQUIRE(url);
  CHECK(url->port == 8443);
  CHECK(url->target == "/");
  url = outbound::parse_https_url("https://app.example?x=1");
  REQUIRE(url);
  CHECK(url->target == "/?x=1");
  CHECK(outbound::parse_https_url("https://localhost:8443/doc.json"));
}

TEST_CASE("outbound: URLs that are not a plain https URL with a host name are refused") {
  for (const char* text : {
           "http://client.example/doc.json",         // not https
           "HTTPS://client.example/doc.json",        // the scheme as written must be https://
           "ftp://client.example/doc.json",
           "https://",                                // no host
           "https:///doc.json",
           "https://user:pass@client.example/doc",    // userinfo
           "https://client.example@10.0.0.1/doc",     // userinfo hiding an address
           "https://client.example/doc.json#frag",    // fragment
           "https://client.example\\@evil.example/",  // backslash
           "https://client .example/",                // space
           "https://client.example/\x01",             // control character
           "https://clïent.example/",                 // non-ASCII
           "https://127.0.0.1/doc.json",              // IPv4 literal
           "https://[::1]/doc.json",                  // IPv6 literal
           "https://[::ffff:169.254.169.254]/",
           "https://2130706433/",                     // IPv4 in decimal, as inet_aton reads it
           "https://0x7f000001/",                     // IPv4 in hex
           "https://0x7f.1/",
           "https://127.1/",
           "https://example.123/",                    // ends in a number
           "https://client.example./",                // trailing dot
           "https://client..example/",                // empty label
           "https://-client.example/",                // label starting with a hyphen
           "https://client_name.example/",            // underscore
           "https://client%2eexample/",               // percent-encoded host
           "https://client.example:0/",               // port out of range
           "https://client.example:65536/",
           "https://client.example:/",                // empty port
           "https://client.example:44a/",
           "https://client.example:443:443/",
       }) {
    CAPTURE(text);
    const auto url = outbound::parse_https_url(text);
    REQUIRE_FALSE(url);
    CHECK(url.error().kind == ErrorKind::invalid_argument);
    CHECK(url.error().message.find("refused URL") != std::string::npos);
  }
  CHECK_FALSE(outbound::parse_https_url("https://client.example/" + std::string(outbound::kMaxUrlLength, 'a')));
  CHECK_FALSE(outbound::parse_https_url("https://" + std::string(64, 'a') + ".example/"));
}
