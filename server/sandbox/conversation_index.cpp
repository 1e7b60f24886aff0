#include "sandbox/conversation_index.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

constexpr const char* kFileName = "conversations.db";

std::int64_t system_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One prepared statement, finalized when it goes out of scope.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_statement, nullptr) != SQLITE_OK) m_statement = nullptr;
  }
  ~Statement() { sqlite3_finalize(m_statement); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] bool ok() const { return m_statement != nullptr; }

  Statement& bind(int index, std::string_view text) {
    sqlite3_bind_text(m_statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(m_statement, index, value);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return m_statement == nullptr ? SQLITE_ERROR : sqlite3_step(m_statement); }

  [[nodiscard]] std::string text(int column) const {
    const auto* value = sqlite3_column_text(m_statement, column);
    return value == nullptr ? std::string()
                            : std::string(reinterpret_cast<const char*>(value),
                                          static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)));
  }
  [[nodiscard]] std::int64_t integer(int column) const { return sqlite3_column_int64(m_statement, column); }

 private:
  sqlite3_stmt* m_statement = nullptr;
};

}  // namespace

struct ConversationIndex::Db {
  sqlite3* handle = nullptr;
  fs::path path;

  ~Db() { sqlite3_close(handle); }

  [[nodiscard]] core::Error error(std::string_view doing) const {
    return core::Error{ErrorKind::unavailable,
                       "conversation index " + path.string() + ": " + std::string(doing) + ": " + sqlite3_errmsg(handle)};
  }

  core::Result<void> exec(const char* sql, std::string_view doing) const {
    if (sqlite3_exec(handle, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return core::fail(error(doing));
    return {};
  }

  // Runs a statement that returns no rows.
  core::Result<void> done(Statement& statement, std::string_view doing) const {
    if (!statement.ok() || statement.step() != SQLITE_DONE) return core::fail(error(doing));
    return {};
  }
};

namespace {

// What a start-up failure says, and what to do about it.
core::Error refuse(const fs::path& path, const std::string& why) {
  return core::Error{ErrorKind::unavailable,
                     "cannot use the conversation index " + path.string() + ": " + why +
                         " (restore it from a backup, or move it away to start with an empty index: existing "
                         "conversations keep their files, but callers' lists start empty)"};
}

// Creates the schema of an empty database, or checks the version of an existing one.
core::Result<void> prepare_schema(ConversationIndex::Db& db) {
  Statement has_version(db.handle, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'");
  if (!has_version.ok() || has_version.step() != SQLITE_ROW) {
    return core::fail(refuse(db.path, std::string("not a readable SQLite database: ") + sqlite3_errmsg(db.handle)));
  }
  if (has_version.integer(0) == 0) {
    Statement any_table(db.handle, "SELECT count(*) FROM sqlite_master");
    if (!any_table.ok() || any_table.step() != SQLITE_ROW || any_table.integer(0) != 0) {
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
  Statement version(db.handle, "SELECT max(version) FROM schema_version");
  if (!version.ok() || version.step() != SQLITE_ROW) {
    return core::fail(refuse(db.path, std::string("cannot read its schema version: ") + sqlite3_errmsg(db.handle)));
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
  // FULLMUTEX off: our own mutex serialises every use of the one connection.
  const int opened = sqlite3_open_v2(db->path.c_str(), &db->handle,
                                     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (opened != SQLITE_OK) {
    return core::fail(refuse(db->path, db->handle != nullptr ? sqlite3_errmsg(db->handle) : sqlite3_errstr(opened)));
  }
  sqlite3_busy_timeout(db->handle, 5000);
  // WAL: a use is recorded without waiting for readers; NORMAL: no fsync per use (a crash may lose
  // the last uses, never the database's consistency).
  if (auto wal = db->exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                          "opening");
      !wal) {
    return core::fail(refuse(db->path, "not a readable SQLite database: " + wal.error().message));
  }
  {
    Statement check(db->handle, "PRAGMA quick_check");
    if (!check.ok() || check.step() != SQLITE_ROW || check.text(0) != "ok") {
      return core::fail(refuse(db->path, "it is damaged (" +
                                             (check.ok() ? check.text(0) : std::string(sqlite3_errmsg(db->handle))) +
                                             ")"));
    }
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
  Statement find(m_db->handle, "SELECT directory FROM bindings WHERE key = ?1");
  if (!find.ok()) return core::fail(m_db->error("looking up a conversation"));
  find.bind(1, key);
  const int step = find.step();
  if (step == SQLITE_ROW) return find.text(0);
  if (step != SQLITE_DONE) return core::fail(m_db->error("looking up a conversation"));
  return std::string(key);
}

core::Result<std::string> ConversationIndex::key_for_directory(std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  Statement find(m_db->handle, "SELECT key FROM bindings WHERE directory = ?1");
  if (!find.ok()) return core::fail(m_db->error("looking up a directory"));
  find.bind(1, directory);
  const int step = find.step();
  if (step == SQLITE_ROW) return find.text(0);
  if (step != SQLITE_DONE) return core::fail(m_db->error("looking up a directory"));
  return std::string(directory);
}

core::Result<void> ConversationIndex::adopt(std::string_view key, std::string_view directory) {
  const std::lock_guard lock(m_mutex);
  // The key must be new, and the directory nobody's: neither bound already nor another key's own
  // directory of the original layout (which has no binding: its name is its key).
  Statement taken(m_db->handle,
                  "SELECT 1 FROM bindings WHERE key IN (?1, ?2) OR directory IN (?1, ?2) "
                  "UNION ALL SELECT 1 FROM uses WHERE key IN (?1, ?2) LIMIT 1");
  if (!taken.ok()) return core::fail(m_db->error("binding a conversation"));
  taken.bind(1, key).bind(2, directory);
  const int step = taken.step();
  if (step == SQLITE_ROW) {
    return core::fail(ErrorKind::conflict, "the conversation or the directory already has a binding");
  }
  if (step != SQLITE_DONE) return core::fail(m_db->error("binding a conversation"));
  Statement insert(m_db->handle, "INSERT INTO bindings (key, directory) VALUES (?1, ?2)");
  if (!insert.ok()) return core::fail(m_db->error("binding a conversation"));
  insert.bind(1, key).bind(2, directory);
  if (insert.step() != SQLITE_DONE) {
    if (sqlite3_extended_errcode(m_db->handle) == SQLITE_CONSTRAINT_PRIMARYKEY ||
        sqlite3_extended_errcode(m_db->handle) == SQLITE_CONSTRAINT_UNIQUE) {
      return core::fail(ErrorKind::conflict, "the conversation or the directory already has a binding");
    }
    return core::fail(m_db->error("binding a conversation"));
  }
  return {};
}

core::Result<void> ConversationIndex::record_use(std::string_view caller, std::string_view key) {
  const std::lock_guard lock(m_mutex);
  if (auto begun = m_db->exec("BEGIN IMMEDIATE", "recording a use"); !begun) return begun;
  const auto rollback = [this](core::Error error) {
    (void)m_db->exec("ROLLBACK", "rolling back");
    return core::fail(std::move(error));
  };
  Statement upsert(m_db->handle,
                   "INSERT INTO uses (caller, key, last_used) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (caller, key) DO UPDATE SET last_used = max(last_used, excluded.last_used)");
  if (!upsert.ok()) return rollback(m_db->error("recording a use"));
  upsert.bind(1, caller).bind(2, key).bind(3, m_now());
  if (upsert.step() != SQLITE_DONE) return rollback(m_db->error("recording a use"));
  // Only the newest per_caller_cap stay: one caller cannot grow the database without bound.
  Statement trim(m_db->handle,
                 "DELETE FROM uses WHERE caller = ?1 AND key NOT IN "
                 "(SELECT key FROM uses WHERE caller = ?1 ORDER BY last_used DESC, key DESC LIMIT ?2)");
  if (!trim.ok()) return rollback(m_db->error("trimming a caller's list"));
  trim.bind(1, caller).bind(2, static_cast<std::int64_t>(m_per_caller_cap));
  if (trim.step() != SQLITE_DONE) return rollback(m_db->error("trimming a caller's list"));
  if (auto committed = m_db->exec("COMMIT", "recording a use"); !committed) return rollback(committed.error());
  return {};
}

core::Result<std::vector<IndexedConversation>> ConversationIndex::recent(std::string_view caller, std::size_t limit,
                                                                         std::optional<IndexedConversation> after) {
  const std::lock_guard lock(m_mutex);
  Statement list(m_db->handle,
                 after ? "SELECT key, last_used FROM uses WHERE caller = ?1 AND "
                         "(last_used < ?3 OR (last_used = ?3 AND key < ?4)) "
                         "ORDER BY last_used DESC, key DESC LIMIT ?2"
                       : "SELECT key, last_used FROM uses WHERE caller = ?1 ORDER BY last_used DESC, key DESC LIMIT ?2");
  if (!list.ok()) return core::fail(m_db->error("listing conversations"));
  list.bind(1, caller).bind(2, static_cast<std::int64_t>(limit));
  if (after) list.bind(3, after->last_used_unix).bind(4, after->key);
  std::vector<IndexedConversation> found;
  int step = SQLITE_ROW;
  while ((step = list.step()) == SQLITE_ROW) found.push_back(IndexedConversation{list.text(0), list.integer(1)});
  if (step != SQLITE_DONE) return core::fail(m_db->error("listing conversations"));
  return found;
}

bool ConversationIndex::used_by(std::string_view caller, std::string_view key) {
  const std::lock_guard lock(m_mutex);
  Statement find(m_db->handle, "SELECT 1 FROM uses WHERE caller = ?1 AND key = ?2");
  if (!find.ok()) return false;
  find.bind(1, caller).bind(2, key);
  return find.step() == SQLITE_ROW;
}

core::Result<void> ConversationIndex::forget(std::string_view key) {
  const std::lock_guard lock(m_mutex);
  if (auto begun = m_db->exec("BEGIN IMMEDIATE", "forgetting a conversation"); !begun) return begun;
  for (const char* sql : {"DELETE FROM bindings WHERE key = ?1", "DELETE FROM uses WHERE key = ?1"}) {
    Statement remove(m_db->handle, sql);
    if (!remove.ok()) {
      auto error = m_db->error("forgetting a conversation");
      (void)m_db->exec("ROLLBACK", "rolling back");
      return core::fail(std::move(error));
    }
    remove.bind(1, key);
    if (remove.step() != SQLITE_DONE) {
      auto error = m_db->error("forgetting a conversation");
      (void)m_db->exec("ROLLBACK", "rolling back");
      return core::fail(std::move(error));
    }
  }
  return m_db->exec("COMMIT", "forgetting a conversation");
}

}  // namespace sandbox
