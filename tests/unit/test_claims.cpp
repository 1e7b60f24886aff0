#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "sandbox/claims.hpp"

using namespace std::chrono_literals;

TEST_CASE("claims: the sweep's claim only succeeds on a name nobody holds or claims") {
  sandbox::Claims claims;
  CHECK(claims.try_claim_idle("a"));
  CHECK_FALSE(claims.try_claim_idle("a"));  // claimed
  CHECK(claims.try_claim_idle("b"));        // names are independent
  claims.finish("a", true);                 // prepared and handed out: one holder
  CHECK_FALSE(claims.try_claim_idle("a"));
  claims.claim("a");  // a second open of a held name claims it (only one preparer at a time)
  claims.finish("a", true);
  claims.release("a");
  CHECK_FALSE(claims.try_claim_idle("a"));  // one holder left
  claims.release("a");
  CHECK(claims.try_claim_idle("a"));
  claims.finish("a", false);
  claims.finish("b", false);
  CHECK(claims.try_claim_idle("a"));
}

TEST_CASE("claims: a second claim of a name waits until the first is finished") {
  sandbox::Claims claims;
  claims.claim("c");
  auto second = std::async(std::launch::async, [&] {
    claims.claim("c");
    claims.finish("c", false);
  });
  // Still waiting while the first claim is held (it would be ready at once if claim did not wait).
  CHECK(second.wait_for(100ms) == std::future_status::timeout);
  claims.claim("other");  // another name is not held up
  claims.finish("other", false);
  claims.finish("c", false);
  CHECK(second.wait_for(10s) == std::future_status::ready);
  CHECK(claims.try_claim_idle("c"));
}
