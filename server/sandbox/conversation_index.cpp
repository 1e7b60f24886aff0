#include "sandbox/conversation_index.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "sqlite/database.hpp"

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

constexpr const char* kFileName = "conversations.db";

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

// The connection and the words of its errors: every failure names the file and what was being done.
struct ConversationIndex::Db {
  std::unique_ptr<sqlite::Database> sql;
  fs::path path;

  [[nodiscard]] core::Error error(std::string_view doing, std::string_view sqlite_message) const {
    return core::Error{ErrorKind::unavailable, "conversation index " + path.string() + ": " + std::string(doing) +
                                                   ": " + std::string(sqlite_message)};
  }
  [[nodiscard]] core::Error error(std::string_view doing) const { return error(doing, sql->message()); }

  core::Result<void> exec(const char* statements, std::string_view doing) const {
    return in_words(doing, sql->exec(statements));
  }

  // Runs `statement`, which returns no rows, with `values` bound to ?1, ?2, ... in order.
  template <typename... Values>
  core::Result<void> run(const char* statement, std::string_view doing, const Values&... values) const {
    return in_words(doing, sql->run(statement, values...));
  }

  // The first column of the first row `query` returns (with `values` bound in order); nullopt: no row.
  template <typename... Values>
  core::Result<std::optional<std::string>> first(const char* query, std::string_view doing,
                                                 const Values&... values) const {
    return in_words(doing, sql->first(query, values...));
  }

  // Runs `body` in a transaction (BEGIN IMMEDIATE), so that another process using the index (a CLI
  // `run` beside the server) sees the step whole or not at all.
  template <typename Body>
  auto transaction(std::string_view doing, Body&& body) const -> decltype(body()) {
    return sql->transaction(std::forward<Body>(body),
                            [&](const core::Error& failed) { return error(doing, failed.message); });
  }

 private:
  template <typename T>
  core::Result<T> in_words(std::string_view doing, core::Result<T> result) const {
    if (!result) return core::fail(error(doing, result.error().message));
    return result;
  }
};

namespace {

// The key a reserved directory is bound to until a conversation adopts it: never a conversation's
// key (those are hex), so a reservation cannot be mistaken for a conversation.
constexpr std::string_view kUnbornPrefix = "unborn:";

std::string unborn_key(std::string_view directory) { return std::string(kUnbornPrefix) + std::string(directory); }

constexpr const char* kDirectoryOfKey = "SELECT directory FROM bindings WHERE key = ?1";

// What a start-up failure says, and what to do about it.
core::Error refuse(const fs::path& path, const std::string& why) {
  return core::Error{ErrorKind::unavailable,
                     "cannot use the conversation index " + path.string() + ": " + why +
                         " (restore it from a backup, or move it away to start with an empty index: existing "
                         "conversations keep their files, but callers' lists start empty)"};
}

// Creates the schema of an empty database, or checks the version of an existing one.
core::Result<void> prepare_schema(ConversationIndex::Db& db) {
  auto has_version =
      db.sql->prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (has_version.step() != sqlite::Step::row) {
    return core::fail(refuse(db.path, "not a readable SQLite database: " + db.sql->message()));
  }
  if (has_version.integer(0) == 0) {
    auto any_table = db.sql->prepare("SELECT count(*) FROM sqlite_master");
    if (any_table.step() != sqlite::Step::row || any_table.integer(0) != 0) {
      return core::fail(refuse(db.path, "it holds tables but no schema version: not ours"));
    }
    return db.exec(
        "BEGIN;"
        "CREATE TABLE schema_version (version INTEGER NOT NULL);"
        "INSERT INTO schema_version VALUES (1);"
        // A conversation born in a directory made before it existed (a pooled container's /data).
        "CREATE TABLE bindings (key TEXT PRIMARY KEY, directory TEXT NOT NULL UNIQUE) WITHOUT ROWID;"
        // Who used which conversation, when (unix seconds).
        "CREATE TABLE uses (caller TEXT NOT NULL, key TEXT NOT NULL, last_used INTEGER NOT NULL,"
        " PRIMARY KEY (caller, key)) WITHOUT ROWID;"
        "CREATE INDEX uses_by_recency ON uses (caller, last_used DESC, key DESC);"
        "CREATE INDEX uses_by_key ON uses (key);"
        "COMMIT;",
        "creating the schema");
  }
  auto version = db.sql->prepare("SELECT max(version) FROM schema_version");
  if (version.step() != sqlite::Step::row) {
    return core::fail(refuse(db.path, "cannot read its schema version: " + db.sql->message()));
  }
  const auto found = version.integer(0);
  if (found > ConversationIndex::kSchemaVersion) {
    return core::fail(refuse(db.path, "it was written by a newer version of mcp-sandbox (schema " +
                                          std::to_string(found) + ", this version reads " +
                                          std::to_string(ConversationIndex::kSchemaVersion) + ")"));
  }
  if (found < 1) return core::fail(refuse(db.path, "its schema version is missing"));
  return {};
}

}  // namespace

core::Result<std::unique_ptr<ConversationIndex>> ConversationIndex::open(const fs::path& state_dir,
                                                                         std::size_t per_caller_cap,
                                                                         std::function<std::int64_t()> now) {
  std::error_code ec;
  fs::create_directories(state_dir, ec);
  if (ec) {
    return core::fail(ErrorKind::unavailable, "cannot create the state directory " + state_dir.string() + ": " +
                                                  ec.message() + " (set STATE_DIR to a writable directory)");
  }
  ::chmod(state_dir.c_str(), 0700);
  auto db = std::make_unique<Db>();
  db->path = state_dir / kFileName;
  // Not serialized by SQLite: our own mutex serialises every use of the one connection.
  auto opened = sqlite::Database::open(db->path, {.create = true, .serialized = false});
  if (!opened) return core::fail(refuse(db->path, opened.error().message));
  db->sql = std::move(*opened);
  // WAL: a use is recorded without waiting for readers; NORMAL: no fsync per use (a crash may lose
  // the last uses, never the database's consistency).
  if (auto wal = db->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                          "opening");
      !wal) {
    return core::fail(refuse(db->path, "not a readable SQLite database: " + wal.error().message));
  }
  if (auto sound = db->sql->quick_check(); !sound) {
    return core::fail(refuse(db->path, "it is damaged (" + sound.error().message + ")"));
  }
  if (auto schema = prepare_schema(*db); !schema) return core::fail(schema.error());
  ::chmod(db->path.c_str(), 0600);
  return std::unique_ptr<ConversationIndex>(
      new ConversationIndex(std::move(db), per_caller_cap == 0 ? 1 : per_caller_cap,
                            now ? std::move(now) : std::function<std::int64_t()>(system_now)));
}

ConversationIndex::ConversationIndex(std::unique_ptr<Db> db, std::size_t per_caller_cap,
                                     std::function<std::int64_t()> now)
    : m_db(std::move(db)), m_per_caller_cap(per_caller_cap), m_now(std::move(now)) {}

ConversationIndex::~ConversationIndex() = default;

core::Result<std::string> ConversationIndex::directory_for(std::string_view key) {
  const std::lock_guard lock(m_mutex);
  auto bound = m_db->first(kDirectoryOfKey, "looking up a conversation", key);
  if (!bound) return core::fail(bound.error());
  return bound->value_or(std::string(key));
}

core::Result<std::string> ConversationIndex::key_for_directory(std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  auto bound = m_db->first("SELECT key FROM bindings WHERE directory = ?1", "looking up a directory", directory);
  if (!bound) return core::fail(bound.error());
  return bound->value_or(std::string(directory));
}

core::Result<std::string> ConversationIndex::bind_own(std::string_view key) {
  const std::lock_guard lock(m_mutex);
  auto bound = m_db->first(kDirectoryOfKey, "looking up a conversation", key);
  if (!bound) return core::fail(bound.error());
  if (*bound) return **bound;  // most uses: a conversation that has its binding (no write)
  return m_db->transaction("binding a conversation", [&]() -> core::Result<std::string> {
    // Bound meanwhile (another process's adopt won): that binding stands; else the key takes its
    // own directory.
    if (auto inserted = m_db->run("INSERT INTO bindings (key, directory) VALUES (?1, ?1) ON CONFLICT DO NOTHING",
                                  "binding a conversation", key);
        !inserted) {
      return core::fail(inserted.error());
    }
    auto now_bound = m_db->first(kDirectoryOfKey, "binding a conversation", key);
    if (!now_bound) return core::fail(now_bound.error());
    return now_bound->value_or(std::string(key));
  });
}

core::Result<void> ConversationIndex::reserve(std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  auto reserved = m_db->run("INSERT INTO bindings (key, directory) VALUES (?1, ?2)", "reserving a directory",
                            unborn_key(directory), directory);
  if (!reserved && m_db->sql->last_error_is_constraint()) {
    return core::fail(ErrorKind::conflict, "the directory already has a binding");
  }
  return reserved;
}

core::Result<std::vector<std::string>> ConversationIndex::unborn() {
  const std::lock_guard lock(m_mutex);
  // A range of the primary key: every reservation key, and nothing else, starts with kUnbornPrefix.
  auto list = m_db->sql->prepare("SELECT directory FROM bindings WHERE key >= 'unborn:' AND key < 'unborn;'");
  std::vector<std::string> found;
  auto step = list.step();
  for (; step == sqlite::Step::row; step = list.step()) found.push_back(list.text(0));
  if (step != sqlite::Step::done) return core::fail(m_db->error("listing reserved directories"));
  return found;
}

core::Result<bool> ConversationIndex::is_unborn(std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  auto found = m_db->first(kDirectoryOfKey, "looking up a directory", unborn_key(directory));
  if (!found) return core::fail(found.error());
  return found->has_value();
}

core::Result<void> ConversationIndex::adopt(std::string_view key, std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  const auto reservation = unborn_key(directory);
  return m_db->transaction("binding a conversation", [&]() -> core::Result<void> {
    // The key must be new, and the directory nobody's (its own reservation aside): neither bound
    // already nor another key's own directory of the original layout (its name is its key).
    auto taken = m_db->first(
        "SELECT 1 FROM bindings WHERE (key IN (?1, ?2) OR directory IN (?1, ?2)) AND key <> ?3 "
        "UNION ALL SELECT 1 FROM uses WHERE key IN (?1, ?2) LIMIT 1",
        "binding a conversation", key, directory, reservation);
    if (!taken) return core::fail(taken.error());
    if (taken->has_value()) {
      return core::fail(ErrorKind::conflict, "the conversation or the directory already has a binding");
    }
    if (auto ended = m_db->run("DELETE FROM bindings WHERE key = ?1", "binding a conversation", reservation);
        !ended) {
      return ended;
    }
    return m_db->run("INSERT INTO bindings (key, directory) VALUES (?1, ?2)", "binding a conversation", key,
                     directory);
  });
}

core::Result<void> ConversationIndex::record_use(std::string_view caller, std::string_view key) {
  const std::lock_guard lock(m_mutex);
  return m_db->transaction("recording a use", [&]() -> core::Result<void> {
    if (auto recorded = m_db->run("INSERT INTO uses (caller, key, last_used) VALUES (?1, ?2, ?3) "
                                  "ON CONFLICT (caller, key) DO UPDATE SET last_used = max(last_used, excluded.last_used)",
                                  "recording a use", caller, key, m_now());
        !recorded) {
      return recorded;
    }
    // Only the newest per_caller_cap stay: one caller cannot grow the database without bound.
    return m_db->run("DELETE FROM uses WHERE caller = ?1 AND key NOT IN "
                     "(SELECT key FROM uses WHERE caller = ?1 ORDER BY last_used DESC, key DESC LIMIT ?2)",
                     "trimming a caller's list", caller, static_cast<std::int64_t>(m_per_caller_cap));
  });
}

core::Result<std::vector<IndexedConversation>> ConversationIndex::recent(std::string_view caller, std::size_t limit,
                                                                         std::optional<IndexedConversation> after) {
  const std::lock_guard lock(m_mutex);
  auto list = m_db->sql->prepare(
      after ? "SELECT key, last_used FROM uses WHERE caller = ?1 AND "
              "(last_used < ?3 OR (last_used = ?3 AND key < ?4)) "
              "ORDER BY last_used DESC, key DESC LIMIT ?2"
            : "SELECT key, last_used FROM uses WHERE caller = ?1 ORDER BY last_used DESC, key DESC LIMIT ?2");
  list.bind(1, caller).bind(2, static_cast<std::int64_t>(limit));
  if (after) list.bind(3, after->last_used_unix).bind(4, after->key);
  std::vector<IndexedConversation> found;
  auto step = list.step();
  for (; step == sqlite::Step::row; step = list.step()) {
    found.push_back(IndexedConversation{list.text(0), list.integer(1)});
  }
  if (step != sqlite::Step::done) return core::fail(m_db->error("listing conversations"));
  return found;
}

bool ConversationIndex::used_by(std::string_view caller, std::string_view key) {
  const std::lock_guard lock(m_mutex);
  auto found = m_db->sql->first("SELECT 1 FROM uses WHERE caller = ?1 AND key = ?2", caller, key);
  return found && found->has_value();
}

core::Result<void> ConversationIndex::forget(std::string_view key) {
  const std::lock_guard lock(m_mutex);
  return m_db->transaction("forgetting a conversation", [&]() -> core::Result<void> {
    if (auto unbound = m_db->run("DELETE FROM bindings WHERE key = ?1", "forgetting a conversation", key); !unbound) {
      return unbound;
    }
    return m_db->run("DELETE FROM uses WHERE key = ?1", "forgetting a conversation", key);
  });
}

}  // namespace sandbox
