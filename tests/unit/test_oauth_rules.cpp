#include <catch2/catch.hpp>

#include "oauth/consent_page.hpp"
#include "oauth/form.hpp"
#include "oauth/redirect_uri.hpp"
#include "oauth/registration.hpp"

using nlohmann::json;

TEST_CASE("redirect URIs: https anywhere, http only on loopback, private-use schemes only for native apps") {
  CHECK(oauth::check_redirect_uri("https://claude.ai/api/mcp/auth_callback", "web"));
  CHECK(oauth::check_redirect_uri("http://localhost:33418/callback", "native"));
  CHECK(oauth::check_redirect_uri("http://127.0.0.1/cb", "web"));
  CHECK(oauth::check_redirect_uri("http://[::1]:9000/cb", "native"));
  CHECK(oauth::check_redirect_uri("cursor://anysphere.cursor-retrieval/oauth/callback", "native"));
  CHECK_FALSE(oauth::check_redirect_uri("cursor://anysphere.cursor-retrieval/oauth/callback", "web"));
  for (const char* refused : {"http://example.com/cb", "http://127.evil.example/cb", "http://localhost.evil.example/cb",
                              "javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "https://a.example/cb#frag",
                              "https://user@a.example/cb", "/relative", "https://a.example/c b", "https:///nohost",
                              "vbscript:x", "https://a.example:99999/cb"}) {
    INFO(refused);
    CHECK_FALSE(oauth::check_redirect_uri(refused, "native"));
  }
  CHECK_FALSE(oauth::check_redirect_uri("https://a.example/" + std::string(600, 'a'), "web"));
}

TEST_CASE("redirect URI matching is exact, but a loopback http URI may use any port") {
  CHECK(oauth::redirect_uri_matches("https://a.example/cb", "https://a.example/cb"));
  CHECK_FALSE(oauth::redirect_uri_matches("https://a.example/cb", "https://a.example/cb2"));
  CHECK_FALSE(oauth::redirect_uri_matches("https://a.example/cb", "https://a.example/cb?x=1"));
  CHECK_FALSE(oauth::redirect_uri_matches("https://a.example/cb", "https://A.example/cb"));
  CHECK(oauth::redirect_uri_matches("http://127.0.0.1:1234/cb", "http://127.0.0.1:5555/cb"));
  CHECK_FALSE(oauth::redirect_uri_matches("http://127.0.0.1:1234/cb", "http://127.0.0.1:5555/other"));
  CHECK_FALSE(oauth::redirect_uri_matches("http://127.0.0.1:1234/cb", "http://localhost:1234/cb"));
  CHECK_FALSE(oauth::redirect_uri_matches("https://a.example:1/cb", "https://a.example:2/cb"));
}

TEST_CASE("registration metadata is validated and bounded") {
  const json good = {{"client_name", "Claude"},
                     {"redirect_uris", {"https://claude.ai/api/mcp/auth_callback"}},
                     {"grant_types", {"authorization_code", "refresh_token"}},
                     {"response_types", {"code"}},
                     {"token_endpoint_auth_method", "none"}};
  const auto client = oauth::client_from_registration(good);
  REQUIRE(client);
  CHECK(client->name == "Claude");
  CHECK(client->application_type == "web");
  CHECK(client->auth_method == "none");

  auto no_method = good;
  no_method.erase("token_endpoint_auth_method");
  CHECK(oauth::client_from_registration(no_method)->auth_method == "client_secret_basic");  // RFC 7591's default

  auto loopback = good;
  loopback["redirect_uris"] = {"http://localhost:4567/callback"};
  CHECK(oauth::client_from_registration(loopback)->application_type == "native");

  const auto refused = [&](json metadata) {
    const auto result = oauth::client_from_registration(metadata);
    REQUIRE_FALSE(result);
    return result.error().error;
  };
  auto many = good;
  many["redirect_uris"] = json::array();
  for (int i = 0; i < 11; ++i) many["redirect_uris"].push_back("https://a.example/" + std::to_string(i));
  CHECK(refused(many) == "invalid_redirect_uri");
  auto none = good;
  none["redirect_uris"] = json::array();
  CHECK(refused(none) == "invalid_redirect_uri");
  auto open_redirect = good;
  open_redirect["redirect_uris"] = {"http://attacker.example/cb"};
  CHECK(refused(open_redirect) == "invalid_redirect_uri");
  auto implicit = good;
  implicit["response_types"] = {"token"};
  CHECK(refused(implicit) == "invalid_client_metadata");
  auto password = good;
  password["grant_types"] = {"password"};
  CHECK(refused(password) == "invalid_client_metadata");
  auto jwt = good;
  jwt["token_endpoint_auth_method"] = "private_key_jwt";
  CHECK(refused(jwt) == "invalid_client_metadata");
  auto typed = good;
  typed["application_type"] = "service";
  CHECK(refused(typed) == "invalid_client_metadata");
  CHECK(refused(json::array()) == "invalid_client_metadata");

  auto long_name = good;
  long_name["client_name"] = std::string(5000, 'x') + "\u202e\x01";
  CHECK(oauth::client_from_registration(long_name)->name.size() == 100);
}

TEST_CASE("display names lose control and bidirectional characters and keep whole characters") {
  CHECK(oauth::display_name("Claude\u202e\u2066 Desktop\x07", 100) == "Claude Desktop");
  CHECK(oauth::display_name("\xff\xfe", 100).empty());
  CHECK(oauth::display_name("\u00e9\u00e9\u00e9", 5) == "\u00e9\u00e9");
}

TEST_CASE("a client metadata document must name itself and be a public client") {
  const std::string url = "https://app.example/oauth/client.json";
  const json document = {{"client_id", url}, {"client_name", "App"}, {"redirect_uris", {"https://app.example/cb"}}};
  const auto client = oauth::client_from_metadata_document(document, url);
  REQUIRE(client);
  CHECK(client->client_id == url);
  CHECK(client->auth_method == "none");
  auto other = document;
  other["client_id"] = "https://evil.example/client.json";
  CHECK_FALSE(oauth::client_from_metadata_document(other, url));
  auto secret = document;
  secret["token_endpoint_auth_method"] = "client_secret_basic";
  CHECK_FALSE(oauth::client_from_metadata_document(secret, url));
  CHECK(oauth::is_metadata_document_id(url));
  CHECK_FALSE(oauth::is_metadata_document_id("https://app.example/"));
  CHECK_FALSE(oauth::is_metadata_document_id("http://app.example/client.json"));
  CHECK_FALSE(oauth::is_metadata_document_id("mcp-abc"));
}

TEST_CASE("forms: repeated or malformed parameters are refused") {
  const auto form = oauth::parse_form("a=1&b=two+words&c=%2F");
  REQUIRE(form);
  CHECK(oauth::form_value(*form, "b") == "two words");
  CHECK(oauth::form_value(*form, "c") == "/");
  CHECK(oauth::form_value(*form, "missing").empty());
  CHECK_FALSE(oauth::parse_form("a=1&a=2"));
  CHECK_FALSE(oauth::parse_form("a=%zz"));
}

TEST_CASE("the consent page escapes everything a client chose and loads nothing") {
  oauth::ConsentView view{"<script>alert('x')</script>", "https://e.example/\"><img src=x>", "e.example",
                          "sandbox", "req\"", "csrf<", "nonce1", ""};
  const std::string html = oauth::render_consent_page(view);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("value=\"req&quot;\"") != std::string::npos);
  CHECK(html.find("type=\"password\"") != std::string::npos);
  CHECK(html.find("<link") == std::string::npos);  // no stylesheet or icon from anywhere
  CHECK(html.find("href=") == std::string::npos);
  const std::string policy = oauth::page_security_policy("nonce1", "https://claude.ai");
  CHECK(policy.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(policy.find("default-src 'none'") != std::string::npos);
  CHECK(policy.find("form-action 'self' https://claude.ai") != std::string::npos);
}
