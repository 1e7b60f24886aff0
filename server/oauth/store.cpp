#include "oauth/store.hpp"

#include <nlohmann/json.hpp>
#include <sqlite3.h>
#include <sys/stat.h>

#include <system_error>
#include <utility>

namespace oauth {

namespace {

using core::ErrorKind;

// The schema of version 1. A later version adds a migration step from each older one.
constexpr const char* kSchema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE clients (
  client_id TEXT PRIMARY KEY,
  secret_hash TEXT NOT NULL,
  name TEXT NOT NULL,
  redirect_uris TEXT NOT NULL,
  application_type TEXT NOT NULL,
  auth_method TEXT NOT NULL,
  registered_by TEXT NOT NULL,
  created INTEGER NOT NULL
);
CREATE TABLE grants (
  grant_id TEXT PRIMARY KEY,
  client_id TEXT NOT NULL,
  client_name TEXT NOT NULL,
  scope TEXT NOT NULL,
  resource TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_used INTEGER NOT NULL
);
CREATE INDEX grants_client ON grants (client_id);
CREATE TABLE tokens (
  hash TEXT PRIMARY KEY,
  grant_id TEXT NOT NULL REFERENCES grants (grant_id) ON DELETE CASCADE,
  kind INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  used INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_grant ON tokens (grant_id);
CREATE INDEX tokens_expires ON tokens (expires);
)sql";

core::Error db_error(sqlite3* db, std::string_view what) {
  return core::Error{ErrorKind::internal, std::string(what) + ": " + sqlite3_errmsg(db)};
}

// One prepared statement, finalized on every path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr) != SQLITE_OK) m_stmt = nullptr;
  }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  [[nodiscard]] bool ok() const { return m_stmt != nullptr; }
  Statement& bind(int index, std::string_view text) {
    sqlite3_bind_text(m_stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int index, std::int64_t value) {
    sqlite3_bind_int64(m_stmt, index, value);
    return *this;
  }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(m_stmt); }
  [[nodiscard]] std::string text(int column) const {
    const auto* data = sqlite3_column_text(m_stmt, column);
    return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data));
  }
  [[nodiscard]] std::int64_t integer(int column) const { return sqlite3_column_int64(m_stmt, column); }

 private:
  sqlite3_stmt* m_stmt = nullptr;
};

core::Result<void> run(sqlite3* db, Statement& statement, std::string_view what) {
  if (!statement.ok()) return core::fail(db_error(db, what));
  const int rc = statement.step();
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) return core::fail(db_error(db, what));
  return {};
}

Grant grant_from(const Statement& row, int first) {
  return Grant{row.text(first),          row.text(first + 1),    row.text(first + 2),   row.text(first + 3),
               row.text(first + 4),      row.integer(first + 5), row.integer(first + 6)};
}

}  // namespace

std::filesystem::path database_path(const std::filesystem::path& state_dir) { return state_dir / "oauth.db"; }

Store::Store(sqlite3* db) : m_db(db) {}

Store::~Store() { sqlite3_close_v2(m_db); }

core::Result<void> Store::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : sqlite3_errmsg(m_db);
    sqlite3_free(message);
    return core::fail(ErrorKind::internal, text);
  }
  return {};
}

core::Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& file, bool create) {
  std::error_code error;
  const bool exists = std::filesystem::exists(file, error);
  if (!exists && !create) {
    return core::fail(ErrorKind::not_found, "no OAuth database at " + file.string() + " (is OAuth enabled?)");
  }
  if (!exists) {
    std::filesystem::create_directories(file.parent_path(), error);
    if (error) return core::fail(ErrorKind::unavailable, "cannot create " + file.parent_path().string() + ": " + error.message());
    ::chmod(file.parent_path().c_str(), 0700);
  }
  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (exists ? 0 : SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(file.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return core::fail(ErrorKind::unavailable, "cannot open the OAuth database " + file.string() + ": " + message);
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 5000);  // the `oauth` subcommand may write while the server runs
  const auto refuse = [&](const std::string& why) {
    return core::fail(ErrorKind::conflict, "the OAuth database " + file.string() + " " + why +
                                               "; refusing to start rather than reset it (move it away to start over, "
                                               "which revokes every grant)");
  };
  if (!exists) {
    ::chmod(file.c_str(), 0600);
    if (auto made = store->exec("PRAGMA journal_mode=WAL; BEGIN;"); !made) return refuse("cannot be created: " + made.error().message);
    if (auto made = store->exec(kSchema); !made) return refuse("cannot be created: " + made.error().message);
    Statement version(db, "INSERT INTO meta (key, value) VALUES ('schema_version', ?)");
    version.bind(1, std::to_string(kSchemaVersion));
    if (auto made = run(db, version, "schema version"); !made) return refuse("cannot be created: " + made.error().message);
    if (auto made = store->exec("COMMIT;"); !made) return refuse("cannot be created: " + made.error().message);
  } else {
    // Reading the version is the first read: a file that is not a database fails right here.
    if (auto checked = store->exec("PRAGMA journal_mode=WAL;"); !checked) return refuse("is unreadable: " + checked.error().message);
    Statement integrity(db, "PRAGMA quick_check");
    if (!integrity.ok() || integrity.step() != SQLITE_ROW || integrity.text(0) != "ok") {
      return refuse("is corrupt (" + std::string(integrity.ok() ? integrity.text(0) : sqlite3_errmsg(db)) + ")");
    }
    Statement version(db, "SELECT value FROM meta WHERE key = 'schema_version'");
    if (!version.ok() || version.step() != SQLITE_ROW) return refuse("has no schema version (" + std::string(sqlite3_errmsg(db)) + ")");
    const std::string found = version.text(0);
    if (found != std::to_string(kSchemaVersion)) {
      const bool newer = found.size() > 1 || (found.size() == 1 && found[0] > '0' + kSchemaVersion);
      return refuse("has schema version " + found + ", this program knows " + std::to_string(kSchemaVersion) +
                    (newer ? " (written by a newer release)" : ""));
    }
  }
  if (auto keys = store->exec("PRAGMA foreign_keys=ON;"); !keys) return core::fail(keys.error());
  return store;
}

core::Result<void> Store::add_client(const Client& client) {
  std::lock_guard lock(m_mutex);
  Statement insert(m_db,
                   "INSERT INTO clients (client_id, secret_hash, name, redirect_uris, application_type, auth_method, "
                   "registered_by, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, client.client_id)
      .bind(2, client.secret_hash)
      .bind(3, client.name)
      .bind(4, nlohmann::json(client.redirect_uris).dump())
      .bind(5, client.application_type)
      .bind(6, client.auth_method)
      .bind(7, client.registered_by)
      .bind(8, client.created);
  return run(m_db, insert, "store a client");
}

core::Result<std::optional<Client>> Store::client(std::string_view client_id) {
  std::lock_guard lock(m_mutex);
  Statement query(m_db,
                  "SELECT client_id, secret_hash, name, redirect_uris, application_type, auth_method, registered_by, "
                  "created FROM clients WHERE client_id = ?");
  if (!query.ok()) return core::fail(db_error(m_db, "read a client"));
  query.bind(1, client_id);
  const int rc = query.step();
  if (rc == SQLITE_DONE) return std::optional<Client>();
  if (rc != SQLITE_ROW) return core::fail(db_error(m_db, "read a client"));
  Client client{query.text(0), query.text(1), query.text(2), {}, query.text(4), query.text(5), query.text(6), query.integer(7)};
  const auto uris = nlohmann::json::parse(query.text(3), nullptr, false);
  if (uris.is_array()) {
    for (const auto& uri : uris) {
      if (uri.is_string()) client.redirect_uris.push_back(uri.get<std::string>());
    }
  }
  return std::optional<Client>(std::move(client));
}

core::Result<std::int64_t> Store::prune_unused_clients(std::int64_t cutoff) {
  std::lock_guard lock(m_mutex);
  constexpr const char* kUnused = "NOT EXISTS (SELECT 1 FROM grants g WHERE g.client_id = clients.client_id)";
  Statement prune(m_db, (std::string("DELETE FROM clients WHERE created < ? AND ") + kUnused).c_str());
  prune.bind(1, cutoff);
  if (auto done = run(m_db, prune, "prune clients"); !done) return core::fail(done.error());
  Statement count(m_db, (std::string("SELECT COUNT(*) FROM clients WHERE ") + kUnused).c_str());
  if (!count.ok() || count.step() != SQLITE_ROW) return core::fail(db_error(m_db, "count clients"));
  return count.integer(0);
}

core::Result<void> Store::add_grant(const Grant& grant) {
  std::lock_guard lock(m_mutex);
  Statement insert(m_db,
                   "INSERT INTO grants (grant_id, client_id, client_name, scope, resource, created, last_used) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, grant.grant_id)
      .bind(2, grant.client_id)
      .bind(3, grant.client_name)
      .bind(4, grant.scope)
      .bind(5, grant.resource)
      .bind(6, grant.created)
      .bind(7, grant.last_used);
  return run(m_db, insert, "store a grant");
}

core::Result<std::vector<Grant>> Store::grants() {
  std::lock_guard lock(m_mutex);
  Statement query(m_db,
                  "SELECT grant_id, client_id, client_name, scope, resource, created, last_used FROM grants "
                  "ORDER BY created DESC, grant_id");
  if (!query.ok()) return core::fail(db_error(m_db, "list grants"));
  std::vector<Grant> grants;
  int rc = SQLITE_ROW;
  while ((rc = query.step()) == SQLITE_ROW) grants.push_back(grant_from(query, 0));
  if (rc != SQLITE_DONE) return core::fail(db_error(m_db, "list grants"));
  return grants;
}

core::Result<bool> Store::revoke_grant(std::string_view grant_id) {
  std::lock_guard lock(m_mutex);
  Statement tokens(m_db, "DELETE FROM tokens WHERE grant_id = ?");
  tokens.bind(1, grant_id);
  if (auto done = run(m_db, tokens, "revoke tokens"); !done) return core::fail(done.error());
  Statement grant(m_db, "DELETE FROM grants WHERE grant_id = ?");
  grant.bind(1, grant_id);
  if (auto done = run(m_db, grant, "revoke a grant"); !done) return core::fail(done.error());
  return sqlite3_changes(m_db) > 0;
}

core::Result<void> Store::touch_grant(std::string_view grant_id, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  Statement update(m_db, "UPDATE grants SET last_used = ? WHERE grant_id = ?");
  update.bind(1, now).bind(2, grant_id);
  return run(m_db, update, "touch a grant");
}

core::Result<void> Store::add_token(std::string_view hash, std::string_view grant_id, TokenKind kind,
                                    std::int64_t expires) {
  std::lock_guard lock(m_mutex);
  Statement insert(m_db, "INSERT INTO tokens (hash, grant_id, kind, expires) VALUES (?, ?, ?, ?)");
  insert.bind(1, hash).bind(2, grant_id).bind(3, static_cast<std::int64_t>(kind)).bind(4, expires);
  return run(m_db, insert, "store a token");
}

core::Result<std::optional<TokenRecord>> Store::token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  Statement query(m_db,
                  "SELECT t.kind, t.expires, t.used, g.grant_id, g.client_id, g.client_name, g.scope, g.resource, "
                  "g.created, g.last_used FROM tokens t JOIN grants g ON g.grant_id = t.grant_id WHERE t.hash = ?");
  if (!query.ok()) return core::fail(db_error(m_db, "read a token"));
  query.bind(1, hash);
  const int rc = query.step();
  if (rc == SQLITE_DONE) return std::optional<TokenRecord>();
  if (rc != SQLITE_ROW) return core::fail(db_error(m_db, "read a token"));
  return std::optional<TokenRecord>(TokenRecord{query.integer(0) == 1 ? TokenKind::refresh : TokenKind::access,
                                                query.integer(1), query.integer(2) != 0, grant_from(query, 3)});
}

core::Result<bool> Store::use_refresh_token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  // One statement decides: of two requests racing with the same refresh token, exactly one wins.
  Statement update(m_db, "UPDATE tokens SET used = 1 WHERE hash = ? AND used = 0");
  update.bind(1, hash);
  if (auto done = run(m_db, update, "use a refresh token"); !done) return core::fail(done.error());
  return sqlite3_changes(m_db) > 0;
}

core::Result<bool> Store::delete_token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  Statement remove(m_db, "DELETE FROM tokens WHERE hash = ?");
  remove.bind(1, hash);
  if (auto done = run(m_db, remove, "delete a token"); !done) return core::fail(done.error());
  return sqlite3_changes(m_db) > 0;
}

core::Result<void> Store::prune_tokens(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  Statement prune(m_db, "DELETE FROM tokens WHERE expires < ?");
  prune.bind(1, now);
  return run(m_db, prune, "prune tokens");
}

}  // namespace oauth
