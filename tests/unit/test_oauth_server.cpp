#include <catch2/catch.hpp>

#include "core/encoding.hpp"
#include "oauth/authorization_server.hpp"
#include "oauth/crypto.hpp"
#include "oauth/form.hpp"
#include "support/temp_dir.hpp"

using nlohmann::json;
using Form = std::map<std::string, std::string>;

namespace {

const std::string kIssuer = "https://sandbox.example";
const std::string kRedirect = "https://client.example/callback";
const std::string kVerifier = "a-verifier-of-enough-length-0123456789-abcdefghij";

std::string challenge_of(const std::string& verifier) { return oauth::base64url(oauth::sha256(verifier)); }

// An authorization server over a fresh database, with a clock the test moves.
struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<oauth::Store> store;
  std::int64_t now = 1'700'000'000;
  std::unique_ptr<oauth::AuthorizationServer> server;

  explicit Fixture(oauth::MetadataFetcher fetcher = {}) {
    store = std::move(*oauth::Store::open(oauth::database_path(dir.path), true));
    oauth::ServerSettings settings;
    settings.issuer = kIssuer;
    settings.owner_password = "the owner's long password";
    settings.signing_key = "k";
    settings.max_unused_clients = 3;
    server = std::make_unique<oauth::AuthorizationServer>(*store, settings, std::move(fetcher), [this] { return now; });
  }

  json register_public(const std::string& redirect = kRedirect) {
    auto registered = server->register_client(
        {{"client_name", "Test client"}, {"redirect_uris", {redirect}}, {"token_endpoint_auth_method", "none"}}, "10.0.0.1");
    REQUIRE(registered);
    return *registered;
  }

  Form authorize_params(const std::string& client_id) {
    return {{"client_id", client_id}, {"redirect_uri", kRedirect},        {"response_type", "code"},
            {"state", "xyz"},         {"code_challenge", challenge_of(kVerifier)}, {"code_challenge_method", "S256"},
            {"resource", kIssuer + "/mcp"}};
  }

  // The code from an approved authorization.
  std::string code_for(const std::string& client_id) {
    const auto request = server->begin_authorization(authorize_params(client_id));
    REQUIRE(request);
    const std::string location = server->approve(*request);
    REQUIRE(location.rfind(kRedirect + "?code=", 0) == 0);
    CHECK(location.find("&state=xyz") != std::string::npos);
    CHECK(location.find("&iss=https%3A%2F%2Fsandbox.example") != std::string::npos);
    const auto query = oauth::parse_form(location.substr(location.find('?') + 1));
    return oauth::form_value(*query, "code");
  }

  oauth::OAuthResult<json> exchange(const std::string& client_id, const std::string& code,
                                    const std::string& verifier = kVerifier) {
    return server->token({{"grant_type", "authorization_code"}, {"client_id", client_id}, {"code", code},
                          {"redirect_uri", kRedirect}, {"code_verifier", verifier}},
                         "");
  }
};

}  // namespace

TEST_CASE("oauth: discovery documents name this server and what it supports") {
  Fixture f;
  const auto metadata = f.server->authorization_server_metadata();
  CHECK(metadata["issuer"] == kIssuer);
  CHECK(metadata["token_endpoint"] == kIssuer + "/token");
  CHECK(metadata["code_challenge_methods_supported"] == json::array({"S256"}));
  CHECK(metadata["authorization_response_iss_parameter_supported"] == true);
  CHECK(metadata["client_id_metadata_document_supported"] == false);
  const auto resource = f.server->protected_resource_metadata("/mcp");
  CHECK(resource["resource"] == kIssuer + "/mcp");
  CHECK(resource["authorization_servers"] == json::array({kIssuer}));
}

TEST_CASE("oauth: code, token, use, refresh: the whole flow") {
  Fixture f;
  const std::string client_id = f.register_public()["client_id"];
  const auto tokens = f.exchange(client_id, f.code_for(client_id));
  REQUIRE(tokens);
  CHECK((*tokens)["token_type"] == "Bearer");
  CHECK((*tokens)["expires_in"] == 3600);
  const auto owner = f.server->verify_access_token((*tokens)["access_token"].get<std::string>());
  REQUIRE(owner);
  CHECK(owner->client_name == "Test client");
  CHECK(oauth::caller_id(owner->grant_id).rfind("oauth:", 0) == 0);

  const auto refreshed = f.server->token(
      {{"grant_type", "refresh_token"}, {"client_id", client_id}, {"refresh_token", (*tokens)["refresh_token"]}}, "");
  REQUIRE(refreshed);
  CHECK((*refreshed)["refresh_token"] != (*tokens)["refresh_token"]);
  const auto same = f.server->verify_access_token((*refreshed)["access_token"].get<std::string>());
  REQUIRE(same);
  CHECK(same->grant_id == owner->grant_id);  // one grant, one caller, across refreshes

  SECTION("an access token expires") {
    f.now += 3601;
    CHECK_FALSE(f.server->verify_access_token((*refreshed)["access_token"].get<std::string>()));
  }
  SECTION("a rotated refresh token that comes back revokes the whole family") {
    const auto replay = f.server->token(
        {{"grant_type", "refresh_token"}, {"client_id", client_id}, {"refresh_token", (*tokens)["refresh_token"]}}, "");
    REQUIRE_FALSE(replay);
    CHECK(replay.error().error == "invalid_grant");
    CHECK_FALSE(f.server->verify_access_token((*refreshed)["access_token"].get<std::string>()));
    CHECK_FALSE(f.server->token({{"grant_type", "refresh_token"}, {"client_id", client_id},
                                 {"refresh_token", (*refreshed)["refresh_token"]}},
                                ""));
    CHECK(f.store->grants()->empty());
  }
  SECTION("revoking the refresh token revokes the grant; unknown tokens revoke nothing and succeed") {
    CHECK(f.server->revoke({{"client_id", client_id}, {"token", "mcp_rt_unknown"}}, ""));
    CHECK(f.server->verify_access_token((*refreshed)["access_token"].get<std::string>()));
    CHECK(f.server->revoke({{"client_id", client_id}, {"token", (*refreshed)["refresh_token"]}}, ""));
    CHECK_FALSE(f.server->verify_access_token((*refreshed)["access_token"].get<std::string>()));
  }
  SECTION("the owner revokes the grant (oauth revoke)") {
    CHECK(*f.store->revoke_grant(owner->grant_id));
    CHECK_FALSE(f.server->verify_access_token((*refreshed)["access_token"].get<std::string>()));
  }
  SECTION("another client cannot use the refresh token") {
    const std::string other = f.register_public()["client_id"];
    const auto stolen = f.server->token(
        {{"grant_type", "refresh_token"}, {"client_id", other}, {"refresh_token", (*refreshed)["refresh_token"]}}, "");
    REQUIRE_FALSE(stolen);
    CHECK(stolen.error().error == "invalid_grant");
  }
}

TEST_CASE("oauth: authorization codes are single-use, short-lived, and bound to client, redirect URI and verifier") {
  Fixture f;
  const std::string client_id = f.register_public()["client_id"];
  SECTION("a second use fails and revokes what the first issued") {
    const std::string code = f.code_for(client_id);
    const auto first = f.exchange(client_id, code);
    REQUIRE(first);
    const auto second = f.exchange(client_id, code);
    REQUIRE_FALSE(second);
    CHECK(second.error().error == "invalid_grant");
    CHECK_FALSE(f.server->verify_access_token((*first)["access_token"].get<std::string>()));
  }
  SECTION("expired") {
    const std::string code = f.code_for(client_id);
    f.now += 61;
    CHECK(f.exchange(client_id, code).error().error == "invalid_grant");
  }
  SECTION("wrong verifier") {
    CHECK(f.exchange(client_id, f.code_for(client_id), kVerifier + "x").error().error == "invalid_grant");
  }
  SECTION("the challenge itself as the verifier (plain)") {
    const std::string code = f.code_for(client_id);
    CHECK(f.exchange(client_id, code, challenge_of(kVerifier)).error().error == "invalid_grant");
  }
  SECTION("another client") {
    const std::string other = f.register_public()["client_id"];
    CHECK(f.exchange(other, f.code_for(client_id)).error().error == "invalid_grant");
  }
  SECTION("another redirect URI") {
    const std::string code = f.code_for(client_id);
    const auto result = f.server->token({{"grant_type", "authorization_code"}, {"client_id", client_id}, {"code", code},
                                         {"redirect_uri", kRedirect + "x"}, {"code_verifier", kVerifier}},
                                        "");
    CHECK(result.error().error == "invalid_grant");
  }
  SECTION("a resource that is not this server") {
    const std::string code = f.code_for(client_id);
    const auto result = f.server->token({{"grant_type", "authorization_code"}, {"client_id", client_id}, {"code", code},
                                         {"redirect_uri", kRedirect}, {"code_verifier", kVerifier},
                                         {"resource", "https://sandbox.example.evil.com/mcp"}},
                                        "");
    CHECK(result.error().error == "invalid_target");
  }
}

TEST_CASE("oauth: authorization requests that cannot go back to the client never redirect") {
  Fixture f;
  const std::string client_id = f.register_public()["client_id"];
  auto params = f.authorize_params(client_id);
  SECTION("unknown client") {
    params["client_id"] = "mcp-nobody";
    const auto result = f.server->begin_authorization(params);
    REQUIRE_FALSE(result);
    CHECK(result.error().location.empty());
  }
  SECTION("unregistered redirect URI (an open redirect attempt)") {
    params["redirect_uri"] = "https://attacker.example/callback";
    const auto result = f.server->begin_authorization(params);
    REQUIRE_FALSE(result);
    CHECK(result.error().location.empty());
  }
  SECTION("PKCE plain goes back to the client as invalid_request") {
    params["code_challenge_method"] = "plain";
    const auto result = f.server->begin_authorization(params);
    REQUIRE_FALSE(result);
    CHECK(result.error().location.rfind(kRedirect + "?error=invalid_request", 0) == 0);
    CHECK(result.error().location.find("iss=") != std::string::npos);
  }
  SECTION("no PKCE at all") {
    params.erase("code_challenge");
    CHECK(f.server->begin_authorization(params).error().error.error == "invalid_request");
  }
  SECTION("a resource of another server") {
    params["resource"] = "https://other.example/mcp";
    CHECK(f.server->begin_authorization(params).error().error.error == "invalid_target");
  }
  SECTION("implicit flow") {
    params["response_type"] = "token";
    CHECK(f.server->begin_authorization(params).error().error.error == "unsupported_response_type");
  }
}

TEST_CASE("oauth: the consent form's request is signed and expires") {
  Fixture f;
  const std::string client_id = f.register_public()["client_id"];
  const auto request = f.server->begin_authorization(f.authorize_params(client_id));
  REQUIRE(request);
  const std::string signed_request = f.server->sign_request(*request);
  const auto opened = f.server->open_request(signed_request);
  REQUIRE(opened);
  CHECK(opened->redirect_uri == kRedirect);
  CHECK(opened->csrf == request->csrf);
  std::string tampered = signed_request;
  tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
  CHECK_FALSE(f.server->open_request(tampered));
  f.now += 601;
  CHECK_FALSE(f.server->open_request(signed_request));
  CHECK(f.server->owner_password_matches("the owner's long password"));
  CHECK_FALSE(f.server->owner_password_matches("the owner's long passwor"));
  CHECK_FALSE(f.server->owner_password_matches(""));
}

TEST_CASE("oauth: confidential clients authenticate with their secret, basic or post") {
  Fixture f;
  const auto registered = f.server->register_client(
      {{"client_name", "Confidential"}, {"redirect_uris", {kRedirect}}, {"token_endpoint_auth_method", "client_secret_basic"}},
      "10.0.0.2");
  REQUIRE(registered);
  const std::string id = (*registered)["client_id"];
  const std::string secret = (*registered)["client_secret"];
  const std::string code = f.code_for(id);
  Form form = {{"grant_type", "authorization_code"}, {"code", code}, {"redirect_uri", kRedirect}, {"code_verifier", kVerifier}};
  const auto wrong = f.server->token(form, "Basic " + core::base64_encode(id + ":nope"));
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().status == 401);
  CHECK(f.server->token(form, "Basic " + core::base64_encode(id + ":" + secret)));
}

TEST_CASE("oauth: registrations beyond the pending-client bound are refused until clients expire") {
  Fixture f;
  for (int i = 0; i < 3; ++i) f.register_public();
  const auto refused = f.server->register_client({{"redirect_uris", {kRedirect}}, {"token_endpoint_auth_method", "none"}}, "x");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().status == 503);
  f.now += 86401;
  CHECK(f.server->register_client({{"redirect_uris", {kRedirect}}, {"token_endpoint_auth_method", "none"}}, "x"));
}

TEST_CASE("oauth: client metadata documents are fetched through the given fetcher") {
  const std::string url = "https://app.example/client.json";
  int fetched = 0;
  Fixture f([&](const std::string& asked) -> core::Result<json> {
    ++fetched;
    if (asked != url) return core::fail(core::ErrorKind::not_found, "404");
    return json{{"client_id", url}, {"client_name", "Doc client"}, {"redirect_uris", {kRedirect}}};
  });
  CHECK(f.server->authorization_server_metadata()["client_id_metadata_document_supported"] == true);
  const std::string code = f.code_for(url);
  CHECK(f.exchange(url, code));
  CHECK(fetched >= 1);
  auto params = f.authorize_params("https://app.example/other.json");
  CHECK(f.server->begin_authorization(params).error().location.empty());
}
