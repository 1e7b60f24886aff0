#include "sqlite/database.hpp"

#include <sqlite3.h>

namespace sqlite {

namespace {

// Long enough for another process's short write (the `oauth` or `run` subcommand beside the
// server) to finish, short enough that a stuck one shows up as an error.
constexpr int kBusyTimeoutMs = 5000;

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &m_statement, nullptr) != SQLITE_OK) {
    m_statement = nullptr;
  }
}

Statement::~Statement() { sqlite3_finalize(m_statement); }

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(m_statement);
    m_statement = std::exchange(other.m_statement, nullptr);
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  if (m_statement != nullptr) {
    sqlite3_bind_text(m_statement, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (m_statement != nullptr) sqlite3_bind_int64(m_statement, index, value);
  return *this;
}

Step Statement::step() {
  if (m_statement == nullptr) return Step::error;
  switch (sqlite3_step(m_statement)) {
    case SQLITE_ROW: return Step::row;
    case SQLITE_DONE: return Step::done;
    default: return Step::error;
  }
}

std::string Statement::text(int column) const {
  const auto* value = sqlite3_column_text(m_statement, column);
  if (value == nullptr) return {};
  // The length SQLite reports, not strlen: a value may hold NUL bytes.
  return std::string(reinterpret_cast<const char*>(value),
                     static_cast<std::size_t>(sqlite3_column_bytes(m_statement, column)));
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(m_statement, column); }

core::Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file, OpenOptions options) {
  const int flags = SQLITE_OPEN_READWRITE | (options.create ? SQLITE_OPEN_CREATE : 0) |
                    (options.serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
  sqlite3* db = nullptr;
  const int opened = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  if (opened != SQLITE_OK) {
    // Without a handle SQLite could not even allocate one: only the code says why.
    std::string why = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(opened);
    sqlite3_close_v2(db);
    return core::fail(core::ErrorKind::internal, std::move(why));
  }
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() { sqlite3_close_v2(m_db); }

core::Result<void> Database::exec(const char* sql) const {
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) return core::fail(error());
  return {};
}

std::int64_t Database::changes() const { return sqlite3_changes(m_db); }

bool Database::last_error_is_constraint() const { return sqlite3_errcode(m_db) == SQLITE_CONSTRAINT; }

std::string Database::message() const { return sqlite3_errmsg(m_db); }

core::Result<void> Database::quick_check() const {
  auto check = prepare("PRAGMA quick_check");
  switch (check.step()) {
    case Step::row:
      if (check.text(0) == "ok") return {};
      return core::fail(core::ErrorKind::internal, check.text(0));
    case Step::done:
    case Step::error: break;
  }
  return core::fail(error());
}

}  // namespace sqlite
