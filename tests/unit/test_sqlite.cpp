#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "sqlite/database.hpp"
#include "support/temp_dir.hpp"

namespace {

using testing::TempDir;

std::unique_ptr<sqlite::Database> open_new(const TempDir& dir) {
  auto db = sqlite::Database::open(dir.path / "test.db", {.create = true, .serialized = false});
  REQUIRE(db);
  REQUIRE((*db)->exec("CREATE TABLE items (name TEXT PRIMARY KEY, size INTEGER NOT NULL)"));
  return std::move(*db);
}

}  // namespace

TEST_CASE("sqlite: values are bound to ?1, ?2 ... in order and read back, embedded NUL bytes kept") {
  TempDir dir;
  auto db = open_new(dir);
  const std::string with_nul("a\0b", 3);
  REQUIRE(db->run("INSERT INTO items (name, size) VALUES (?1, ?2)", with_nul, std::int64_t{42}));
  auto query = db->prepare("SELECT name, size FROM items WHERE size = ?1");
  REQUIRE(query.ok());
  query.bind_all(std::int64_t{42});
  REQUIRE(query.step() == sqlite::Step::row);
  CHECK(query.text(0) == with_nul);
  CHECK(query.integer(1) == 42);
  CHECK(query.step() == sqlite::Step::done);
}

TEST_CASE("sqlite: first() and first_row() give the first row, or nullopt without one") {
  TempDir dir;
  auto db = open_new(dir);
  REQUIRE(db->run("INSERT INTO items (name, size) VALUES (?1, ?2)", "x", std::int64_t{1}));
  CHECK(db->first("SELECT name FROM items WHERE size = ?1", std::int64_t{1}).value() == "x");
  CHECK(db->first("SELECT name FROM items WHERE size = ?1", std::int64_t{2}).value() == std::nullopt);
  CHECK(db->first("SELECT ?1 || ?2", "a", "b").value() == "ab");

  auto row = db->first_row("SELECT name, size FROM items WHERE name = ?1", "x");
  REQUIRE(row);
  REQUIRE(*row);
  CHECK((*row)->text(0) == "x");
  CHECK((*row)->integer(1) == 1);
  CHECK_FALSE(db->first_row("SELECT name FROM items WHERE name = ?1", "y").value());
}

TEST_CASE("sqlite: a statement that fails says why, in SQLite's words") {
  TempDir dir;
  auto db = open_new(dir);
  auto bad = db->prepare("SELEC name FROM items");
  CHECK_FALSE(bad.ok());
  CHECK(bad.step() == sqlite::Step::error);
  CHECK(db->message().find("syntax error") != std::string::npos);

  const auto run = db->run("INSERT INTO nowhere VALUES (1)");
  REQUIRE_FALSE(run);
  CHECK(run.error().kind == core::ErrorKind::internal);
  CHECK(run.error().message == "no such table: nowhere");
  const auto first = db->first("SELECT name FROM nowhere");
  REQUIRE_FALSE(first);
  CHECK(first.error().message == "no such table: nowhere");
  CHECK(db->exec("NOT SQL").error().message.find("syntax error") != std::string::npos);
}

TEST_CASE("sqlite: a transaction commits when its body succeeds and rolls back when it fails") {
  TempDir dir;
  auto db = open_new(dir);
  const auto unchanged = [](const core::Error& error) { return error; };
  const auto count = [&] { return db->first("SELECT count(*) FROM items").value().value(); };

  const auto failed = db->transaction(
      [&]() -> core::Result<void> {
        REQUIRE(db->run("INSERT INTO items (name, size) VALUES ('gone', 1)"));
        return core::fail(core::ErrorKind::conflict, "the body's own error");
      },
      unchanged);
  REQUIRE_FALSE(failed);
  CHECK(failed.error().kind == core::ErrorKind::conflict);
  CHECK(failed.error().message == "the body's own error");  // not reworded
  CHECK(count() == "0");

  const auto committed = db->transaction(
      [&]() -> core::Result<int> {
        if (auto inserted = db->run("INSERT INTO items (name, size) VALUES ('kept', 1)"); !inserted) {
          return core::fail(inserted.error());
        }
        return 7;
      },
      unchanged);
  REQUIRE(committed);
  CHECK(*committed == 7);
  CHECK(count() == "1");
}

TEST_CASE("sqlite: a transaction that cannot begin is reported through the caller's wording") {
  TempDir dir;
  auto db = open_new(dir);
  REQUIRE(db->exec("BEGIN"));
  bool ran = false;
  const auto nested = db->transaction(
      [&]() -> core::Result<void> {
        ran = true;
        return {};
      },
      [](const core::Error& error) { return error.with_context("adding items"); });
  REQUIRE_FALSE(nested);
  CHECK_FALSE(ran);
  CHECK(nested.error().message == "adding items: cannot start a transaction within a transaction");
}

TEST_CASE("sqlite: changes() counts the rows of the last write") {
  TempDir dir;
  auto db = open_new(dir);
  REQUIRE(db->exec("INSERT INTO items VALUES ('a', 1), ('b', 1), ('c', 2)"));
  REQUIRE(db->run("UPDATE items SET size = 3 WHERE size = ?1", std::int64_t{1}));
  CHECK(db->changes() == 2);
  REQUIRE(db->run("DELETE FROM items WHERE name = ?1", "none"));
  CHECK(db->changes() == 0);
}

TEST_CASE("sqlite: a constraint violation is told apart from other failures") {
  TempDir dir;
  auto db = open_new(dir);
  REQUIRE(db->run("INSERT INTO items (name, size) VALUES (?1, 1)", "a"));
  const auto again = db->run("INSERT INTO items (name, size) VALUES (?1, 1)", "a");
  REQUIRE_FALSE(again);
  CHECK(again.error().message == "UNIQUE constraint failed: items.name");
  CHECK(db->last_error_is_constraint());
  REQUIRE_FALSE(db->run("INSERT INTO nowhere VALUES (1)"));
  CHECK_FALSE(db->last_error_is_constraint());
}

TEST_CASE("sqlite: a missing file is created only when asked, and a sound one passes quick_check") {
  TempDir dir;
  const auto file = dir.path / "new.db";
  const auto refused = sqlite::Database::open(file, {});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "unable to open database file");
  CHECK_FALSE(std::filesystem::exists(file));
  auto created = sqlite::Database::open(file, {.create = true, .serialized = true});
  REQUIRE(created);
  CHECK((*created)->quick_check());
}

TEST_CASE("sqlite: a file that is not a database opens, and fails its first read untouched") {
  TempDir dir;
  const auto file = dir.path / "not.db";
  std::ofstream(file) << std::string(8192, 'x');
  // SQLite reads nothing when it opens: the file is judged by its first statement.
  auto db = sqlite::Database::open(file, {});
  REQUIRE(db);
  const auto check = (*db)->quick_check();
  REQUIRE_FALSE(check);
  CHECK(check.error().message == "file is not a database");
  CHECK_FALSE((*db)->exec("PRAGMA journal_mode=WAL"));
  CHECK(std::filesystem::file_size(file) == 8192);
}
