#include <catch2/catch.hpp>


#include "support/fake_request.hpp"
#include "transport/client_limits.hpp"
#include "core/rate_limit.hpp"

using core::KeyedRateLimiter;
using core::RateClock;
using core::TokenBucket;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const RateClock::time_point t0 = RateClock::time_point{} + 1h;

const std::string kToken = "rate-limit-test-token-0123456789abcdefghij";

test_http::FakeRequest request_from(const std::string& address, const std::string& authorization = "") {
  if (authorization.empty()) return test_http::FakeRequest("POST", "/mcp", {}, "", address);
  return test_http::FakeRequest("POST", "/mcp", {{"Authorization", authorization}}, "", address);
}

}  // namespace

TEST_CASE("token bucket: a burst up to capacity, then the refill rate", "[rate_limit]") {
  TokenBucket bucket(6, 60s, t0);  // 6 a minute: one every 10 s
  for (int i = 0; i < 6; ++i) CHECK(bucket.take(1, t0));
  CHECK_FALSE(bucket.take(1, t0));
  CHECK(bucket.wait_for(1, t0) == 10s);
  CHECK(bucket.wait_for(1, t0 + 4s) == 6s);
  CHECK_FALSE(bucket.take(1, t0 + 9s));
  CHECK(bucket.take(1, t0 + 10s));
  CHECK_FALSE(bucket.full(t0 + 10s));
  CHECK(bucket.full(t0 + 70s));
  CHECK(bucket.take(6, t0 + 70s));  // refilled to capacity, never beyond
  CHECK_FALSE(bucket.take(1, t0 + 70s));
}

TEST_CASE("token bucket: a clock going back mints nothing", "[rate_limit]") {
  TokenBucket bucket(1, 60s, t0);
  CHECK(bucket.take(1, t0));
  CHECK_FALSE(bucket.take(1, t0 - 120s));
  CHECK(bucket.wait_for(1, t0) == 60s);
}

TEST_CASE("token bucket: a wait is at least a second", "[rate_limit]") {
  TokenBucket bucket(600, 60s, t0);  // 10 a second
  CHECK(bucket.take(600, t0));
  CHECK(bucket.wait_for(1, t0) == 1s);
  CHECK(bucket.wait_for(50, t0) == 5s);
}

TEST_CASE("keyed limiter: each key has its own bucket", "[rate_limit]") {
  KeyedRateLimiter limiter(2);
  CHECK(limiter.take("a", t0).allowed);
  CHECK(limiter.take("a", t0).allowed);
  const auto refused = limiter.take("a", t0);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 30s);
  CHECK(limiter.take("b", t0).allowed);
  CHECK_FALSE(limiter.check("a", t0).allowed);
  CHECK(limiter.check("b", t0).allowed);
  CHECK(limiter.check("never-seen", t0).allowed);
  CHECK(limiter.take("a", t0 + 30s).allowed);
}

TEST_CASE("keyed limiter: several at once are taken all or nothing", "[rate_limit]") {
  KeyedRateLimiter limiter(5);
  CHECK(limiter.take("k", t0, 3).allowed);
  const auto refused = limiter.take("k", t0, 3);
  CHECK_FALSE(refused.allowed);
  CHECK(refused.retry_after == 12s);  // one more token at 5 a minute
  CHECK(limiter.take("k", t0, 2).allowed);
}

TEST_CASE("keyed limiter: 0 a minute is off", "[rate_limit]") {
  KeyedRateLimiter limiter(0);
  CHECK_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) REQUIRE(limiter.take("k", t0).allowed);
  CHECK(limiter.keys() == 0);
}

TEST_CASE("keyed limiter: memory stays bounded, and limited keys outlive idle ones", "[rate_limit]") {
  KeyedRateLimiter limiter(1, 3);
  CHECK(limiter.take("limited", t0).allowed);
  CHECK(limiter.take("idle", t0 - 120s).allowed);  // refilled by t0: as good as forgotten
  CHECK(limiter.take("other", t0).allowed);
  for (int i = 0; i < 100; ++i) limiter.take("new" + std::to_string(i), t0);
  CHECK(limiter.keys() <= 3);
  CHECK_FALSE(limiter.take("limited", t0).allowed);
}

TEST_CASE("client limits: wrong tokens from one address end in 429, others unaffected", "[rate_limit]") {
  const transport::BearerAuth auth({kToken});
  transport::ClientLimits limits(auth, transport::ClientLimitOptions{0, 3});
  const auto wrong = request_from("10.0.0.1", "Bearer wrong-token-wrong-token-wrong-token");
  for (int i = 0; i < 3; ++i) {
    http::Response response;
    CHECK_FALSE(limits.authenticate(wrong, response, true, t0));
    CHECK(response.status == 401);
  }
  http::Response limited;
  CHECK_FALSE(limits.authenticate(request_from("10.0.0.1", "Bearer " + kToken), limited, true, t0 + 1s));
  CHECK(limited.status == 429);  // even the right token: a guess must not be told apart
  CHECK(limited.header("Retry-After") == "19");
  const auto body = json::parse(limited.body);
  CHECK(body["error"]["code"] == -32029);
  CHECK(body["error"]["data"]["retryAfterSeconds"] == 19);
  CHECK(body["id"].is_null());

  http::Response other;
  CHECK(limits.authenticate(request_from("10.0.0.2", "Bearer " + kToken), other, true, t0 + 1s));

  http::Response later;  // one failure's worth refilled after 20 s
  CHECK(limits.authenticate(request_from("10.0.0.1", "Bearer " + kToken), later, true, t0 + 21s));
}

TEST_CASE("client limits: a request without credentials is not counted as a guess", "[rate_limit]") {
  const transport::BearerAuth auth({kToken});
  transport::ClientLimits limits(auth, transport::ClientLimitOptions{0, 1});
  for (int i = 0; i < 5; ++i) {
    http::Response response;
    CHECK_FALSE(limits.authenticate(request_from("10.0.0.1"), response, false, t0));
    CHECK(response.status == 401);
  }
  http::Response plain;
  limits.authenticate(request_from("10.0.0.1", "Bearer nope-nope-nope"), plain, false, t0);
  CHECK(plain.status == 401);
  limits.authenticate(request_from("10.0.0.1", "Bearer nope-nope-nope"), plain, false, t0);
  CHECK(plain.status == 429);
  CHECK(plain.header("Content-Type") == "text/plain");
  CHECK(plain.header("Retry-After") == "60");
}

TEST_CASE("client limits: tool calls are counted per token, batches whole", "[rate_limit]") {
  const std::string second = "another-rate-limit-token-0123456789abcdef";
  const transport::BearerAuth auth({kToken, second});
  transport::ClientLimits limits(auth, transport::ClientLimitOptions{3, 0});
  const auto request = request_from("10.0.0.1", "Bearer " + kToken);
  const auto caller = *auth.caller(request);
  const json call = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}, {"params", {{"name", "x"}}}};
  const json list = {{"jsonrpc", "2.0"}, {"id", 2}, {"method", "tools/list"}};
  http::Response response;
  CHECK(limits.admit_tool_calls(request, caller, response, json::array({call, call}), t0));
  for (int i = 0; i < 10; ++i) CHECK(limits.admit_tool_calls(request, caller, response, list, t0));  // not tool calls
  CHECK(limits.admit_tool_calls(request, caller, response, call, t0));
  CHECK_FALSE(limits.admit_tool_calls(request, caller, response, call, t0));
  CHECK(response.status == 429);
  CHECK(response.header("Retry-After") == "20");
  CHECK_THAT(json::parse(response.body)["error"]["message"].get<std::string>(), Catch::Contains("retry after 20 s"));

  http::Response other;  // the other token has its own budget
  const auto second_request = request_from("10.0.0.1", "Bearer " + second);
  CHECK(limits.admit_tool_calls(second_request, *auth.caller(second_request), other, call, t0));
}

TEST_CASE("client limits: counting tool calls", "[rate_limit]") {
  const json call = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "tools/call"}};
  const json notification = {{"jsonrpc", "2.0"}, {"method", "tools/call"}};
  CHECK(transport::count_tool_calls(call) == 1);
  CHECK(transport::count_tool_calls(notification) == 0);
  CHECK(transport::count_tool_calls(json::array({call, notification, call, 7})) == 2);
  CHECK(transport::count_tool_calls(json("tools/call")) == 0);
}

TEST_CASE("bearer auth: a static token's caller id is a digest prefix, never the token", "[rate_limit]") {
  const transport::BearerAuth auth({kToken});
  const auto id = auth.caller(request_from("10.0.0.1", "Bearer " + kToken)).value().id;
  REQUIRE(id.rfind("token:", 0) == 0);
  const auto digest = id.substr(6);
  CHECK(digest.size() == 16);
  CHECK(digest.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(kToken.find(digest) == std::string::npos);
  CHECK_FALSE(auth.caller(request_from("10.0.0.1", "Bearer wrong")));
}

TEST_CASE("bearer auth: tokens the verifier accepts act as its caller; static tokens are checked first", "[rate_limit]") {
  int asked = 0;
  const transport::BearerAuth auth({kToken}, [&asked](std::string_view token) -> std::optional<transport::Caller> {
    ++asked;
    if (token == "mcp_at_valid") return transport::Caller{"oauth:g1", "Claude"};
    return std::nullopt;
  });
  CHECK(auth.caller(request_from("10.0.0.1", "Bearer mcp_at_valid")).value().id == "oauth:g1");
  CHECK_FALSE(auth.caller(request_from("10.0.0.1", "Bearer mcp_at_revoked")));
  const int before = asked;
  CHECK(auth.caller(request_from("10.0.0.1", "Bearer " + kToken)).value().id.rfind("token:", 0) == 0);
  CHECK(asked == before);
  CHECK_FALSE(auth.authorized(request_from("10.0.0.1", "Basic bWU6cHc=")));
}
