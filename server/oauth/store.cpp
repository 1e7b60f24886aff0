#include "oauth/store.hpp"

#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <system_error>
#include <utility>

#include "sqlite/database.hpp"

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

// What a failed statement says: what the store was doing, then SQLite's message.
core::Error db_error(const sqlite::Database& db, std::string_view what) {
  return core::Error{ErrorKind::internal, std::string(what) + ": " + db.message()};
}

// `result`, its error saying what the store was doing.
template <typename T>
core::Result<T> doing(std::string_view what, core::Result<T> result) {
  if (!result) return core::fail(result.error().with_context(what));
  return result;
}

// A new file: WAL, then the schema and its version in one transaction.
core::Result<void> create_schema(const sqlite::Database& db) {
  if (auto made = db.exec("PRAGMA journal_mode=WAL; BEGIN;"); !made) return made;
  if (auto made = db.exec(kSchema); !made) return made;
  const auto version = std::to_string(Store::kSchemaVersion);
  if (auto made = db.run("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", version); !made) {
    return core::fail(made.error().with_context("schema version"));
  }
  return db.exec("COMMIT;");
}

Grant grant_from(const sqlite::Statement& row, int first) {
  return Grant{row.text(first),          row.text(first + 1),    row.text(first + 2),   row.text(first + 3),
               row.text(first + 4),      row.integer(first + 5), row.integer(first + 6)};
}

}  // namespace

std::filesystem::path database_path(const std::filesystem::path& state_dir) { return state_dir / "oauth.db"; }

Store::Store(std::unique_ptr<sqlite::Database> db) : m_db(std::move(db)) {}

Store::~Store() = default;

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
  auto opened = sqlite::Database::open(file, {.create = !exists, .serialized = true});
  if (!opened) {
    return core::fail(ErrorKind::unavailable,
                      "cannot open the OAuth database " + file.string() + ": " + opened.error().message);
  }
  std::unique_ptr<Store> store(new Store(std::move(*opened)));
  const sqlite::Database& db = *store->m_db;
  const auto refuse = [&](const std::string& why) {
    return core::fail(ErrorKind::conflict, "the OAuth database " + file.string() + " " + why +
                                               "; refusing to start rather than reset it (move it away to start over, "
                                               "which revokes every grant)");
  };
  if (!exists) {
    ::chmod(file.c_str(), 0600);
    if (auto made = create_schema(db); !made) return refuse("cannot be created: " + made.error().message);
  } else {
    // Reading the version is the first read: a file that is not a database fails right here.
    if (auto checked = db.exec("PRAGMA journal_mode=WAL;"); !checked) return refuse("is unreadable: " + checked.error().message);
    if (auto sound = db.quick_check(); !sound) return refuse("is corrupt (" + sound.error().message + ")");
    auto version = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'");
    if (version.step() != sqlite::Step::row) return refuse("has no schema version (" + db.message() + ")");
    const std::string found = version.text(0);
    if (found != std::to_string(kSchemaVersion)) {
      const bool newer = found.size() > 1 || (found.size() == 1 && found[0] > '0' + kSchemaVersion);
      return refuse("has schema version " + found + ", this program knows " + std::to_string(kSchemaVersion) +
                    (newer ? " (written by a newer release)" : ""));
    }
  }
  if (auto keys = db.exec("PRAGMA foreign_keys=ON;"); !keys) return core::fail(keys.error());
  return store;
}

core::Result<void> Store::add_client(const Client& client) {
  std::lock_guard lock(m_mutex);
  return doing("store a client",
               m_db->run("INSERT INTO clients (client_id, secret_hash, name, redirect_uris, application_type, "
                         "auth_method, registered_by, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         client.client_id, client.secret_hash, client.name,
                         nlohmann::json(client.redirect_uris).dump(), client.application_type, client.auth_method,
                         client.registered_by, client.created));
}

core::Result<std::optional<Client>> Store::client(std::string_view client_id) {
  std::lock_guard lock(m_mutex);
  auto row = m_db->first_row(
      "SELECT client_id, secret_hash, name, redirect_uris, application_type, auth_method, registered_by, "
      "created FROM clients WHERE client_id = ?",
      client_id);
  if (!row) return core::fail(row.error().with_context("read a client"));
  if (!*row) return std::optional<Client>();
  const auto& query = **row;
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
  const auto prune = std::string("DELETE FROM clients WHERE created < ? AND ") + kUnused;
  if (auto done = doing("prune clients", m_db->run(prune, cutoff)); !done) {
    return core::fail(done.error());
  }
  auto count = m_db->prepare(std::string("SELECT COUNT(*) FROM clients WHERE ") + kUnused);
  if (count.step() != sqlite::Step::row) return core::fail(db_error(*m_db, "count clients"));
  return count.integer(0);
}

core::Result<void> Store::add_grant(const Grant& grant) {
  std::lock_guard lock(m_mutex);
  return doing("store a grant",
               m_db->run("INSERT INTO grants (grant_id, client_id, client_name, scope, resource, created, last_used) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)",
                         grant.grant_id, grant.client_id, grant.client_name, grant.scope, grant.resource,
                         grant.created, grant.last_used));
}

core::Result<std::vector<Grant>> Store::grants() {
  std::lock_guard lock(m_mutex);
  auto query = m_db->prepare(
      "SELECT grant_id, client_id, client_name, scope, resource, created, last_used FROM grants "
      "ORDER BY created DESC, grant_id");
  std::vector<Grant> grants;
  auto step = query.step();
  for (; step == sqlite::Step::row; step = query.step()) grants.push_back(grant_from(query, 0));
  if (step != sqlite::Step::done) return core::fail(db_error(*m_db, "list grants"));
  return grants;
}

core::Result<bool> Store::revoke_grant(std::string_view grant_id) {
  std::lock_guard lock(m_mutex);
  if (auto done = doing("revoke tokens", m_db->run("DELETE FROM tokens WHERE grant_id = ?", grant_id)); !done) {
    return core::fail(done.error());
  }
  if (auto done = doing("revoke a grant", m_db->run("DELETE FROM grants WHERE grant_id = ?", grant_id)); !done) {
    return core::fail(done.error());
  }
  return m_db->changes() > 0;
}

core::Result<void> Store::touch_grant(std::string_view grant_id, std::int64_t now) {
  std::lock_guard lock(m_mutex);
  return doing("touch a grant", m_db->run("UPDATE grants SET last_used = ? WHERE grant_id = ?", now, grant_id));
}

core::Result<void> Store::add_token(std::string_view hash, std::string_view grant_id, TokenKind kind,
                                    std::int64_t expires) {
  std::lock_guard lock(m_mutex);
  return doing("store a token", m_db->run("INSERT INTO tokens (hash, grant_id, kind, expires) VALUES (?, ?, ?, ?)",
                                          hash, grant_id, static_cast<std::int64_t>(kind), expires));
}

core::Result<std::optional<TokenRecord>> Store::token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  auto row = m_db->first_row(
      "SELECT t.kind, t.expires, t.used, g.grant_id, g.client_id, g.client_name, g.scope, g.resource, "
      "g.created, g.last_used FROM tokens t JOIN grants g ON g.grant_id = t.grant_id WHERE t.hash = ?",
      hash);
  if (!row) return core::fail(row.error().with_context("read a token"));
  if (!*row) return std::optional<TokenRecord>();
  const auto& query = **row;
  return std::optional<TokenRecord>(TokenRecord{query.integer(0) == 1 ? TokenKind::refresh : TokenKind::access,
                                                query.integer(1), query.integer(2) != 0, grant_from(query, 3)});
}

core::Result<bool> Store::use_refresh_token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  // One statement decides: of two requests racing with the same refresh token, exactly one wins.
  auto marked = m_db->run("UPDATE tokens SET used = 1 WHERE hash = ? AND used = 0", hash);
  if (auto done = doing("use a refresh token", std::move(marked)); !done) {
    return core::fail(done.error());
  }
  return m_db->changes() > 0;
}

core::Result<bool> Store::delete_token(std::string_view hash) {
  std::lock_guard lock(m_mutex);
  if (auto done = doing("delete a token", m_db->run("DELETE FROM tokens WHERE hash = ?", hash)); !done) {
    return core::fail(done.error());
  }
  return m_db->changes() > 0;
}

core::Result<void> Store::prune_tokens(std::int64_t now) {
  std::lock_guard lock(m_mutex);
  return doing("prune tokens", m_db->run("DELETE FROM tokens WHERE expires < ?", now));
}

}  // namespace oauth
