#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

// SQLite's own opaque types: declared here so that no header of ours brings <sqlite3.h> in.
struct sqlite3;
struct sqlite3_stmt;

namespace sqlite {

/// What one step of a statement gave.
enum class Step { row, done, error };

/// One prepared statement, finalized when it goes out of scope. A statement that failed to prepare
/// is still a Statement: binding it does nothing and stepping it gives Step::error, so a caller
/// checks once, after the step, and Database::message() says why.
class Statement {
 public:
  ~Statement();
  Statement(Statement&& other) noexcept : m_statement(std::exchange(other.m_statement, nullptr)) {}
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  /// Whether the SQL was prepared.
  [[nodiscard]] bool ok() const { return m_statement != nullptr; }

  /// Binds parameter `index` (1-based) to a copy of `text`, every byte kept.
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::int64_t value);

  /// Binds `values` to ?1, ?2, ... in order.
  template <typename... Values>
  Statement& bind_all(const Values&... values) {
    [[maybe_unused]] int index = 0;  // unused when there are no values
    (bind(++index, values), ...);
    return *this;
  }

  /// The next row, the end, or an error (also when the statement was not prepared).
  Step step();

  /// A column of the current row as text, embedded NUL bytes included; empty for NULL.
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::int64_t integer(int column) const;

 private:
  friend class Database;
  Statement(sqlite3* db, std::string_view sql);

  sqlite3_stmt* m_statement = nullptr;
};

/// How Database::open opens its file.
struct OpenOptions {
  /// Create the file when it does not exist (otherwise a missing file is an error).
  bool create = false;
  /// SQLite serialises every use of the connection itself (SQLITE_OPEN_FULLMUTEX); without it the
  /// caller must (SQLITE_OPEN_NOMUTEX).
  bool serialized = false;
};

/// One connection to a database file, closed when it is destroyed. Every error it returns is
/// ErrorKind::internal with SQLite's own message, taken when the failure happened: callers put
/// what they were doing in front of it.
class Database {
 public:
  /// Opens `file` read-write with a busy timeout of five seconds.
  static core::Result<std::unique_ptr<Database>> open(const std::filesystem::path& file, OpenOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  [[nodiscard]] Statement prepare(std::string_view sql) const { return Statement(m_db, sql); }

  /// Runs one or more statements separated by semicolons, none of them with parameters.
  core::Result<void> exec(const char* sql) const;

  /// Runs `sql`, which returns no rows, with `values` bound to ?1, ?2, ... in order.
  template <typename... Values>
  core::Result<void> run(std::string_view sql, const Values&... values) const {
    auto statement = prepare(sql);
    statement.bind_all(values...);
    if (statement.step() != Step::done) return core::fail(error());
    return {};
  }

  /// The statement `sql` with `values` bound in order, stepped to its first row, whose columns the
  /// caller reads; nullopt: it returned no row.
  template <typename... Values>
  core::Result<std::optional<Statement>> first_row(std::string_view sql, const Values&... values) const {
    auto statement = prepare(sql);
    statement.bind_all(values...);
    switch (statement.step()) {
      case Step::row: return std::optional<Statement>(std::move(statement));
      case Step::done: return std::optional<Statement>();
      case Step::error: break;
    }
    return core::fail(error());
  }

  /// The first column of the first row `sql` returns (with `values` bound in order); nullopt: no row.
  template <typename... Values>
  core::Result<std::optional<std::string>> first(std::string_view sql, const Values&... values) const {
    auto row = first_row(sql, values...);
    if (!row) return core::fail(row.error());
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>((*row)->text(0));
  }

  /// Rows changed by the last INSERT, UPDATE or DELETE.
  [[nodiscard]] std::int64_t changes() const;

  /// Whether the last failure was a constraint's (a UNIQUE or PRIMARY KEY already taken, say).
  [[nodiscard]] bool last_error_is_constraint() const;

  /// SQLite's message for the last failure on this connection.
  [[nodiscard]] std::string message() const;

  /// PRAGMA quick_check: an error whose message is the first problem it found (or why it could not
  /// run) unless the file is sound.
  core::Result<void> quick_check() const;

  /// Runs `body`, which returns a core::Result, between BEGIN IMMEDIATE and COMMIT, rolled back when
  /// it fails, so that another process using the same file sees the step whole or not at all. The
  /// body's error comes back as it is; a failing BEGIN or COMMIT as `describe(error)`, so that the
  /// caller can word it like the errors of its body.
  template <typename Body, typename Describe>
  auto transaction(Body&& body, Describe&& describe) const -> decltype(body()) {
    if (auto begun = exec("BEGIN IMMEDIATE"); !begun) return core::fail(describe(begun.error()));
    auto result = body();
    if (!result) {
      (void)exec("ROLLBACK");
      return result;
    }
    if (auto committed = exec("COMMIT"); !committed) {
      (void)exec("ROLLBACK");
      return core::fail(describe(committed.error()));
    }
    return result;
  }

 private:
  explicit Database(sqlite3* db) : m_db(db) {}
  [[nodiscard]] core::Error error() const { return core::Error{core::ErrorKind::internal, message()}; }

  sqlite3* m_db;
};

}  // namespace sqlite
