#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <fstream>

#include "oauth/store.hpp"
#include "support/temp_dir.hpp"

namespace {

void run_sql(const std::filesystem::path& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("oauth store: grants and tokens survive a reopen; only hashes are stored") {
  testing::TempDir dir;
  const auto file = oauth::database_path(dir.path / "state");
  {
    auto store = oauth::Store::open(file, true);
    REQUIRE(store);
    REQUIRE((*store)->add_grant({"g1", "c1", "Client", "sandbox", "https://s.example", 10, 10}));
    REQUIRE((*store)->add_token("hash-of-token", "g1", oauth::TokenKind::refresh, 100));
  }
  CHECK((std::filesystem::status(file.parent_path()).permissions() & std::filesystem::perms::others_all) ==
        std::filesystem::perms::none);
  auto again = oauth::Store::open(file, false);
  REQUIRE(again);
  const auto token = (*again)->token("hash-of-token");
  REQUIRE(token);
  REQUIRE(*token);
  CHECK((*token)->grant.client_name == "Client");
  CHECK(*(*again)->use_refresh_token("hash-of-token"));
  CHECK_FALSE(*(*again)->use_refresh_token("hash-of-token"));
  CHECK(*(*again)->revoke_grant("g1"));
  CHECK_FALSE(*(*again)->token("hash-of-token"));
}

TEST_CASE("oauth store: a missing, corrupt or newer database is an error, never a reset") {
  testing::TempDir dir;
  const auto file = oauth::database_path(dir.path);
  SECTION("missing and not to be created") { CHECK_FALSE(oauth::Store::open(file, false)); }
  SECTION("not a database") {
    std::ofstream(file) << std::string(8192, 'x');
    const auto opened = oauth::Store::open(file, true);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find("refusing to start rather than reset it") != std::string::npos);
    CHECK(std::filesystem::file_size(file) == 8192);  // untouched
  }
  SECTION("a newer schema") {
    REQUIRE(oauth::Store::open(file, true));
    run_sql(file, "UPDATE meta SET value = '7' WHERE key = 'schema_version'");
    const auto opened = oauth::Store::open(file, true);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find("newer release") != std::string::npos);
  }
  SECTION("a database of something else") {
    run_sql(file, "CREATE TABLE unrelated (x INTEGER)");
    const auto opened = oauth::Store::open(file, true);
    REQUIRE_FALSE(opened);
    CHECK(opened.error().message.find("schema version") != std::string::npos);
  }
}
