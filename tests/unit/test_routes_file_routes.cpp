#include <catch2/catch.hpp>

#include "routes/file_routes.hpp"

namespace {

std::pair<std::uint64_t, std::uint64_t> range_of(std::string_view header, std::uint64_t size) {
  const auto parsed = routes::parse_range(header, size);
  REQUIRE_FALSE(parsed.whole);
  REQUIRE(parsed.satisfiable);
  return {parsed.range.first, parsed.range.length};
}

}  // namespace

TEST_CASE("Range: one byte range is honoured, clamped to the file", "[routes]") {
  CHECK(range_of("bytes=0-9", 100) == std::pair<std::uint64_t, std::uint64_t>{0, 10});
  CHECK(range_of("bytes=90-", 100) == std::pair<std::uint64_t, std::uint64_t>{90, 10});
  CHECK(range_of("bytes=90-500", 100) == std::pair<std::uint64_t, std::uint64_t>{90, 10});
  CHECK(range_of("bytes=-10", 100) == std::pair<std::uint64_t, std::uint64_t>{90, 10});
  CHECK(range_of("bytes=-500", 100) == std::pair<std::uint64_t, std::uint64_t>{0, 100});
}

TEST_CASE("Range: several ranges or anything malformed get the whole file once", "[routes]") {
  for (const auto* header : {"", "bytes=0-1,2-3", "bytes=0-0,0-0,0-0", "items=0-1", "bytes=a-b", "bytes=5-2", "bytes=-",
                             "bytes=1-2-3", "bytes= 0-1", "bytes=99999999999999999999-"}) {
    CAPTURE(header);
    CHECK(routes::parse_range(header, 100).whole);
  }
}

TEST_CASE("Range: a range outside the file is unsatisfiable (416)", "[routes]") {
  for (const auto* header : {"bytes=100-", "bytes=500-600", "bytes=-0"}) {
    CAPTURE(header);
    const auto parsed = routes::parse_range(header, 100);
    CHECK_FALSE(parsed.whole);
    CHECK_FALSE(parsed.satisfiable);
  }
  CHECK_FALSE(routes::parse_range("bytes=0-", 0).satisfiable);
}
