#include <catch2/catch.hpp>

#include "support/fake_request.hpp"
#include "transport/auth.hpp"

namespace {

const std::string kToken = "tok_0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kRotated = "second-token-0123456789abcdefghijklmnop";

test_http::FakeRequest with_authorization(const std::string& value) {
  return test_http::FakeRequest("POST", "/mcp", {{"Authorization", value}});
}

}  // namespace

TEST_CASE("a bearer token from the list is authorized") {
  const transport::BearerAuth auth({kToken, kRotated});
  CHECK(auth.authorized(with_authorization("Bearer " + kToken)));
  CHECK(auth.authorized(with_authorization("Bearer " + kRotated)));
  CHECK(auth.authorized(with_authorization("bearer " + kToken)));  // the scheme is case-insensitive
  CHECK(auth.authorized(with_authorization("Bearer   " + kToken + " ")));
}

TEST_CASE("missing, wrong and malformed credentials are not authorized") {
  const transport::BearerAuth auth({kToken});
  const auto value = GENERATE(as<std::string>{},
                              "",                             // empty header
                              "Bearer",                       // no token
                              "Bearer ",                      // empty token
                              "Basic dXNlcjpwYXNz",           // another scheme
                              "Bearer wrong-token",           // wrong token
                              "Bearer " + kToken + "x",       // longer
                              "Bearer " + kToken.substr(1),   // shorter
                              "Bearer " + kToken + " extra",  // trailing garbage
                              "Bearer" + kToken,              // no space
                              "Token " + kToken,              // wrong scheme
                              "Bearer " + kToken + "\x01",    // control character
                              kToken);                        // no scheme
  CAPTURE(value);
  CHECK_FALSE(auth.authorized(with_authorization(value)));
}

// Two Authorization headers never reach this check: the request parser refuses them (test_http_request_head.cpp).
TEST_CASE("a request without an Authorization header is not authorized") {
  const transport::BearerAuth auth({kToken});
  CHECK_FALSE(auth.authorized(test_http::FakeRequest()));
}

TEST_CASE("with no tokens configured nothing is authorized") {
  const transport::BearerAuth none({});
  CHECK_FALSE(none.authorized(with_authorization("Bearer anything")));
  const transport::BearerAuth blanks({""});
  CHECK_FALSE(blanks.authorized(with_authorization("Bearer ")));
}

TEST_CASE("a rejection is 401 with WWW-Authenticate: Bearer") {
  const transport::BearerAuth auth({kToken});
  http::Response response;
  auth.reject(test_http::FakeRequest(), response);
  CHECK(response.status == 401);
  CHECK(response.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(response.body.find(kToken) == std::string::npos);
}

TEST_CASE("with OAuth the rejection names the protected resource metadata of the path, and an invalid token") {
  const transport::BearerAuth auth({kToken}, {}, [](std::string_view path, bool presented) {
    return "Bearer resource_metadata=\"https://x.example/.well-known/oauth-protected-resource" + std::string(path) +
           "\"" + (presented ? ", error=\"invalid_token\"" : "");
  });
  http::Response anonymous;
  auth.reject(test_http::FakeRequest("POST", "/mcp"), anonymous);
  CHECK(anonymous.header("WWW-Authenticate") ==
        "Bearer resource_metadata=\"https://x.example/.well-known/oauth-protected-resource/mcp\"");
  http::Response wrong;
  auth.reject(test_http::FakeRequest("POST", "/mcp", {{"Authorization", "Bearer nope"}}), wrong);
  CHECK(wrong.header("WWW-Authenticate").find("error=\"invalid_token\"") != std::string::npos);
}
