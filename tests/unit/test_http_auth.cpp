#include <httplib.h>

#include <catch2/catch.hpp>

#include "http/auth.hpp"

namespace {

const std::string kToken = "tok_0123456789abcdefghijklmnopqrstuvwxyz";
const std::string kRotated = "second-token-0123456789abcdefghijklmnop";

httplib::Request with_authorization(const std::string& value) {
  httplib::Request request;
  request.set_header("Authorization", value);
  return request;
}

}  // namespace

TEST_CASE("a bearer token from the list is authorized") {
  const http::BearerAuth auth({kToken, kRotated});
  CHECK(auth.authorized(with_authorization("Bearer " + kToken)));
  CHECK(auth.authorized(with_authorization("Bearer " + kRotated)));
  CHECK(auth.authorized(with_authorization("bearer " + kToken)));  // the scheme is case-insensitive
  CHECK(auth.authorized(with_authorization("Bearer   " + kToken + " ")));
}

TEST_CASE("missing, wrong and malformed credentials are not authorized") {
  const http::BearerAuth auth({kToken});
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

TEST_CASE("no header or two Authorization headers are not authorized") {
  const http::BearerAuth auth({kToken});
  CHECK_FALSE(auth.authorized(httplib::Request{}));
  httplib::Request twice;
  twice.set_header("Authorization", "Bearer " + kToken);
  twice.set_header("Authorization", "Bearer " + kToken);
  CHECK_FALSE(auth.authorized(twice));
}

TEST_CASE("with no tokens configured nothing is authorized") {
  const http::BearerAuth none({});
  CHECK_FALSE(none.authorized(with_authorization("Bearer anything")));
  const http::BearerAuth blanks({""});
  CHECK_FALSE(blanks.authorized(with_authorization("Bearer ")));
}

TEST_CASE("a rejection is 401 with WWW-Authenticate: Bearer") {
  const http::BearerAuth auth({kToken});
  httplib::Response response;
  auth.reject(response);
  CHECK(response.status == 401);
  CHECK(response.get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(response.body.find(kToken) == std::string::npos);
}
