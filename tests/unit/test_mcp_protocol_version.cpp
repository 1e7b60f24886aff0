#include <catch2/catch.hpp>
#include <string>

#include "mcp/protocol_version.hpp"

TEST_CASE("every revision the server speaks is known, newest first") {
  const std::vector<std::string> expected{"2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
  CHECK(mcp::supported_versions() == expected);
  CHECK(mcp::stateless_versions() == std::vector<std::string>{"2026-07-28"});
  for (const auto& version : expected) {
    CAPTURE(version);
    REQUIRE(mcp::find_revision(version) != nullptr);
    CHECK(mcp::find_revision(version)->version == version);
  }
  CHECK(mcp::find_revision("2025-01-01") == nullptr);
  CHECK(mcp::find_revision("") == nullptr);
}

TEST_CASE("initialize negotiates the requested session revision or the latest one") {
  const auto [requested, negotiated] = GENERATE(table<const char*, const char*>({
      {"2024-11-05", "2024-11-05"},
      {"2025-03-26", "2025-03-26"},
      {"2025-06-18", "2025-06-18"},
      {"2025-11-25", "2025-11-25"},
      {"2026-07-28", "2025-11-25"},  // the stateless revision has no initialize
      {"2099-01-01", "2025-11-25"},
      {"1999-01-01", "2025-11-25"},
      {"garbage", "2025-11-25"},
  }));
  CAPTURE(requested);
  CHECK(mcp::negotiate_session_version(requested) == negotiated);
}

TEST_CASE("what each revision has") {
  using mcp::revision;
  CHECK(revision("2025-03-26").batches);
  CHECK_FALSE(revision("2024-11-05").batches);
  CHECK_FALSE(revision("2025-06-18").batches);
  CHECK_FALSE(revision("2025-11-25").batches);
  CHECK_FALSE(revision("2026-07-28").batches);

  CHECK_FALSE(revision("2024-11-05").tool_annotations);
  CHECK(revision("2025-03-26").tool_annotations);
  CHECK_FALSE(revision("2025-03-26").structured_output);
  CHECK(revision("2025-06-18").structured_output);

  CHECK(revision("2025-11-25").ping);
  CHECK(revision("2025-11-25").set_level);
  const auto& stateless = revision("2026-07-28");
  CHECK(stateless.stateless);
  CHECK_FALSE(stateless.ping);
  CHECK_FALSE(stateless.set_level);
  CHECK(stateless.result_type);
  CHECK_THROWS(revision("1900-01-01"));
}

TEST_CASE("the stateless era is recognised by date, supported or not") {
  CHECK(mcp::is_stateless_era("2026-07-28"));
  CHECK(mcp::is_stateless_era("2027-01-01"));
  CHECK_FALSE(mcp::is_stateless_era("2025-11-25"));
  CHECK_FALSE(mcp::is_stateless_era("2024-11-05"));
}
