#include <catch2/catch.hpp>

#include "docker/api_version.hpp"

using core::ErrorKind;
using docker::compare_api_versions;
using docker::negotiate_api_version;

TEST_CASE("api versions compare as numbers, not strings") {
  CHECK(compare_api_versions("1.9", "1.41") < 0);
  CHECK(compare_api_versions("1.41", "1.9") > 0);
  CHECK(compare_api_versions("1.41", "1.41") == 0);
  CHECK(compare_api_versions("2.0", "1.99") > 0);
  CHECK(compare_api_versions("garbage", "0.0") == 0);
}

TEST_CASE("the negotiated api version is the engine's, capped at the newest we know") {
  CHECK(negotiate_api_version("1.41").value() == "1.41");
  CHECK(negotiate_api_version("1.44").value() == "1.44");
  CHECK(negotiate_api_version("1.51").value() == "1.51");
  CHECK(negotiate_api_version("1.52").value() == "1.51");
  CHECK(negotiate_api_version("1.99").value() == "1.51");
}

TEST_CASE("an engine too old or with an unreadable version is unavailable") {
  const auto [engine, reason] = GENERATE(table<const char*, const char*>({
      {"1.24", "older than the oldest supported 1.30"},
      {"1", "unreadable"},
      {"", "unreadable"},
      {"1.x", "unreadable"},
      {"-1.50", "unreadable"},
  }));
  CAPTURE(engine);
  const auto api = negotiate_api_version(engine);
  REQUIRE_FALSE(api);
  CHECK(api.error().kind == ErrorKind::unavailable);
  CHECK_THAT(api.error().message, Catch::Contains(reason));
}
