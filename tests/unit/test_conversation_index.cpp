#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "sandbox/conversation_index.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using testing::TempDir;

// A clock the test moves.
struct FakeClock {
  std::int64_t now = 1'800'000'000;
  std::function<std::int64_t()> fn() {
    return [this] { return now; };
  }
};

std::unique_ptr<sandbox::ConversationIndex> open_index(const fs::path& dir, FakeClock& clock, std::size_t cap = 100) {
  auto index = sandbox::ConversationIndex::open(dir, cap, clock.fn());
  REQUIRE(index);
  return std::move(*index);
}

std::vector<std::string> keys(const std::vector<sandbox::IndexedConversation>& list) {
  std::vector<std::string> found;
  for (const auto& entry : list) found.push_back(entry.key);
  return found;
}

void run_sql(const fs::path& file, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

}  // namespace

TEST_CASE("conversation index: created on first open with a schema version, kept across reopen") {
  TempDir dir;
  FakeClock clock;
  const auto state = dir.path / "state";  // missing: made on open
  {
    auto index = open_index(state, clock);
    REQUIRE(index->adopt("k1", "d1"));
    REQUIRE(index->record_use("token:a", "k1"));
  }
  CHECK(fs::is_regular_file(state / "conversations.db"));
  CHECK((fs::status(state).permissions() & fs::perms::others_all) == fs::perms::none);
  auto again = open_index(state, clock);
  CHECK(again->directory_for("k1").value() == "d1");
  CHECK(again->used_by("token:a", "k1"));
}

TEST_CASE("conversation index: a key's directory is the key itself unless adopted (the original layout)") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  CHECK(index->directory_for("0123456789abcdef0123456789abcdef").value() == "0123456789abcdef0123456789abcdef");
  REQUIRE(index->adopt("newkey", "pooldir"));
  CHECK(index->directory_for("newkey").value() == "pooldir");
  CHECK(index->key_for_directory("pooldir").value() == "newkey");
  CHECK(index->key_for_directory("0123456789abcdef0123456789abcdef").value() == "0123456789abcdef0123456789abcdef");
}

TEST_CASE("conversation index: adopt refuses a bound key, a taken directory and a key already used") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  REQUIRE(index->adopt("k1", "d1"));
  auto again = index->adopt("k1", "d2");
  REQUIRE_FALSE(again);
  CHECK(again.error().kind == core::ErrorKind::conflict);
  CHECK_FALSE(index->adopt("k2", "d1"));
  // A directory that is another conversation's own (its name is a bound key) is taken too.
  CHECK_FALSE(index->adopt("k3", "k1"));
  // A key some caller already used is not new: it lives in its own directory.
  REQUIRE(index->record_use("token:a", "old"));
  CHECK_FALSE(index->adopt("old", "d9"));
  CHECK_FALSE(index->adopt("k9", "old"));
  CHECK(index->directory_for("k1").value() == "d1");
  CHECK(index->directory_for("old").value() == "old");
}

TEST_CASE("conversation index: a first use binds a key to its own directory in one step with adopt") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  // Opened first: the conversation lives in its own directory, and an adoption comes too late.
  CHECK(index->bind_own("k1").value() == "k1");
  auto late = index->adopt("k1", "pooled");
  REQUIRE_FALSE(late);
  CHECK(late.error().kind == core::ErrorKind::conflict);
  CHECK(index->directory_for("k1").value() == "k1");
  // Adopted first: a later first use lives in the adopted directory.
  REQUIRE(index->adopt("k2", "d2"));
  CHECK(index->bind_own("k2").value() == "d2");
  CHECK(index->bind_own("k1").value() == "k1");
}

TEST_CASE("conversation index: reserved directories are unborn until adopted, then a conversation's") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  REQUIRE(index->reserve("d1"));
  REQUIRE(index->reserve("d2"));
  CHECK(index->reserve("d1").error().kind == core::ErrorKind::conflict);
  CHECK(index->unborn().value() == std::vector<std::string>{"d1", "d2"});
  CHECK(index->is_unborn("d1").value());
  CHECK_FALSE(index->is_unborn("k1").value());
  // A reservation is not a conversation: no key's directory, and not adoptable twice.
  CHECK(index->directory_for("d1").value() == "d1");
  REQUIRE(index->adopt("k1", "d1"));
  CHECK_FALSE(index->adopt("k2", "d1"));
  CHECK_FALSE(index->is_unborn("d1").value());
  CHECK(index->unborn().value() == std::vector<std::string>{"d2"});
  CHECK(index->directory_for("k1").value() == "d1");
  // What the sweep does with a leftover: forget what lives there, the reservation.
  REQUIRE(index->forget(index->key_for_directory("d2").value()));
  CHECK(index->unborn().value().empty());
  CHECK(index->directory_for("k1").value() == "d1");
}

TEST_CASE("conversation index: a caller's list is newest first, pages, and is theirs only") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  for (const char* key : {"a", "b", "c", "d"}) {
    REQUIRE(index->record_use("token:x", key));
    ++clock.now;
  }
  REQUIRE(index->record_use("token:y", "z"));
  // Using "b" again moves it to the front.
  ++clock.now;
  REQUIRE(index->record_use("token:x", "b"));
  auto all = index->recent("token:x", 10);
  REQUIRE(all);
  CHECK(keys(*all) == std::vector<std::string>{"b", "d", "c", "a"});
  CHECK(all->front().last_used_unix == clock.now);

  auto first = index->recent("token:x", 2);
  REQUIRE(first);
  CHECK(keys(*first) == std::vector<std::string>{"b", "d"});
  auto second = index->recent("token:x", 2, first->back());
  REQUIRE(second);
  CHECK(keys(*second) == std::vector<std::string>{"c", "a"});
  CHECK(index->recent("token:x", 2, second->back())->empty());

  CHECK(keys(*index->recent("token:y", 10)) == std::vector<std::string>{"z"});
  CHECK(index->used_by("token:y", "z"));
  CHECK_FALSE(index->used_by("token:x", "z"));
  CHECK(index->recent("token:nobody", 10)->empty());
}

TEST_CASE("conversation index: entries used in the same second page without loss or repeats") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  for (const char* key : {"k1", "k2", "k3", "k4", "k5"}) REQUIRE(index->record_use("token:x", key));
  std::vector<std::string> seen;
  std::optional<sandbox::IndexedConversation> after;
  for (int page = 0; page < 10; ++page) {
    auto list = index->recent("token:x", 2, after);
    REQUIRE(list);
    if (list->empty()) break;
    for (const auto& entry : *list) seen.push_back(entry.key);
    after = list->back();
  }
  CHECK(seen == std::vector<std::string>{"k5", "k4", "k3", "k2", "k1"});
}

TEST_CASE("conversation index: each caller keeps only their newest per_caller_cap conversations") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock, 3);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(index->record_use("token:x", "k" + std::to_string(i)));
    ++clock.now;
  }
  REQUIRE(index->record_use("token:y", "other"));
  CHECK(keys(*index->recent("token:x", 100)) == std::vector<std::string>{"k9", "k8", "k7"});
  CHECK_FALSE(index->used_by("token:x", "k0"));
  // Another caller's cap is their own.
  CHECK(index->used_by("token:y", "other"));
}

TEST_CASE("conversation index: forget drops the binding and every caller's entry") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock);
  REQUIRE(index->adopt("k", "d"));
  REQUIRE(index->record_use("token:a", "k"));
  REQUIRE(index->record_use("oauth:g", "k"));
  REQUIRE(index->record_use("token:a", "kept"));
  REQUIRE(index->forget("k"));
  CHECK(index->directory_for("k").value() == "k");
  CHECK_FALSE(index->used_by("token:a", "k"));
  CHECK_FALSE(index->used_by("oauth:g", "k"));
  CHECK(index->used_by("token:a", "kept"));
  // The directory is free again.
  CHECK(index->adopt("k2", "d"));
}

TEST_CASE("conversation index: a corrupt database is a start-up error, never reset") {
  TempDir dir;
  const auto file = dir.path / "conversations.db";
  {
    std::ofstream out(file, std::ios::binary);
    out << std::string(8192, 'x');
  }
  auto index = sandbox::ConversationIndex::open(dir.path, 10);
  REQUIRE_FALSE(index);
  CHECK(index.error().message.find("conversations.db") != std::string::npos);
  CHECK(fs::file_size(file) == 8192);  // left as it was, for the operator
}

TEST_CASE("conversation index: a database of a newer schema is refused") {
  TempDir dir;
  FakeClock clock;
  { auto index = open_index(dir.path, clock); }
  run_sql(dir.path / "conversations.db", "UPDATE schema_version SET version = 99");
  auto index = sandbox::ConversationIndex::open(dir.path, 10);
  REQUIRE_FALSE(index);
  CHECK(index.error().message.find("newer version") != std::string::npos);
}

TEST_CASE("conversation index: a database that is not ours is refused") {
  TempDir dir;
  run_sql(dir.path / "conversations.db", "CREATE TABLE other (x INTEGER)");
  auto index = sandbox::ConversationIndex::open(dir.path, 10);
  REQUIRE_FALSE(index);
  CHECK(index.error().message.find("not ours") != std::string::npos);
}

TEST_CASE("conversation index: a database that cannot be opened is refused") {
  TempDir dir;
  // Something that is no file where the database belongs: refused even for root.
  fs::create_directory(dir.path / "conversations.db");
  auto index = sandbox::ConversationIndex::open(dir.path, 10);
  REQUIRE_FALSE(index);
  CHECK(index.error().message.find("conversations.db") != std::string::npos);
}

TEST_CASE("conversation index: many threads record uses at once") {
  TempDir dir;
  FakeClock clock;
  auto index = open_index(dir.path, clock, 1000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&index, t] {
      for (int i = 0; i < 50; ++i) {
        CHECK(index->record_use("token:" + std::to_string(t), "k" + std::to_string(i)));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < 4; ++t) CHECK(index->recent("token:" + std::to_string(t), 1000)->size() == 50);
}
