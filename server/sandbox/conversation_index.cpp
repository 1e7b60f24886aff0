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

  // Runs `sql`, which returns no rows, with `values` bound to ?1, ?2, ... in order.
  template <typename... Values>
  core::Result<void> run(const char* sql, std::string_view doing, const Values&... values) const {
    Statement statement(handle, sql);
    int position = 0;
    (statement.bind(++position, values), ...);
    return done(statement, doing);
  }

  // The first column of the first row `sql` returns (with `values` bound in order); nullopt: no row.
  template <typename... Values>
  core::Result<std::optional<std::string>> first(const char* sql, std::string_view doing,
                                                 const Values&... values) const {
    Statement statement(handle, sql);
    if (!statement.ok()) return core::fail(error(doing));
    int position = 0;
    (statement.bind(++position, values), ...);
    const int step = statement.step();
    if (step == SQLITE_ROW) return std::optional<std::string>(statement.text(0));
    if (step != SQLITE_DONE) return core::fail(error(doing));
    return std::optional<std::string>();
  }
};

namespace {

// The key a reserved directory is bound to until a conversation adopts it: never a conversation's
// key (those are hex), so a reservation cannot be mistaken for a conversation.
constexpr std::string_view kUnbornPrefix = "unborn:";

std::string unborn_key(std::string_view directory) { return std::string(kUnbornPrefix) + std::string(directory); }

constexpr const char* kDirectoryOfKey = "SELECT directory FROM bindings WHERE key = ?1";

// Runs `body` between BEGIN IMMEDIATE and COMMIT, rolled back when it fails, so that another
// process using the index (a CLI `run` beside the server) sees the step whole or not at all.
template <typename Body>
auto in_transaction(const ConversationIndex::Db& db, std::string_view doing, Body&& body) -> decltype(body()) {
  if (auto begun = db.exec("BEGIN IMMEDIATE", doing); !begun) return core::fail(begun.error());
  auto result = body();
  if (!result) {
    (void)db.exec("ROLLBACK", "rolling back");
    return result;
  }
  if (auto committed = db.exec("COMMIT", doing); !committed) {
    (void)db.exec("ROLLBACK", "rolling back");
    return core::fail(committed.error());
  }
  return result;
}

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
  return in_transaction(*m_db, "binding a conversation", [&]() -> core::Result<std::string> {
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
  if (!reserved && sqlite3_errcode(m_db->handle) == SQLITE_CONSTRAINT) {
    return core::fail(ErrorKind::conflict, "the directory already has a binding");
  }
  return reserved;
}

core::Result<std::vector<std::string>> ConversationIndex::unborn() {
  const std::lock_guard lock(m_mutex);
  // A range of the primary key: every reservation key, and nothing else, starts with kUnbornPrefix.
  Statement list(m_db->handle, "SELECT directory FROM bindings WHERE key >= 'unborn:' AND key < 'unborn;'");
  if (!list.ok()) return core::fail(m_db->error("listing reserved directories"));
  std::vector<std::string> found;
  int step = SQLITE_ROW;
  while ((step = list.step()) == SQLITE_ROW) found.push_back(list.text(0));
  if (step != SQLITE_DONE) return core::fail(m_db->error("listing reserved directories"));
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
  return in_transaction(*m_db, "binding a conversation", [&]() -> core::Result<void> {
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
  return in_transaction(*m_db, "recording a use", [&]() -> core::Result<void> {
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
  return in_transaction(*m_db, "forgetting a conversation", [&]() -> core::Result<void> {
    if (auto unbound = m_db->run("DELETE FROM bindings WHERE key = ?1", "forgetting a conversation", key); !unbound) {
      return unbound;
    }
    return m_db->run("DELETE FROM uses WHERE key = ?1", "forgetting a conversation", key);
  });
}

}  // namespace sandbox
