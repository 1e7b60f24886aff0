#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sqlite {
class Database;
}

namespace oauth {

/// A client registered by Dynamic Client Registration (RFC 7591). Clients identified by a metadata
/// document URL are not stored: their document is the registration.
struct Client {
  std::string client_id;
  std::string secret_hash;  ///< hex SHA-256 of the secret; empty for public clients
  std::string name;
  std::vector<std::string> redirect_uris;
  std::string application_type;  ///< "web" or "native"
  std::string auth_method;       ///< token_endpoint_auth_method: none, client_secret_post, client_secret_basic
  std::string registered_by;     ///< the address that registered it (for the owner's listing)
  std::int64_t created = 0;      ///< unix seconds
};

/// The owner's consent to one client: the identity its tokens act as ("oauth:<grant_id>").
struct Grant {
  std::string grant_id;
  std::string client_id;
  std::string client_name;
  std::string scope;
  std::string resource;
  std::int64_t created = 0;
  std::int64_t last_used = 0;
};

enum class TokenKind { access, refresh };

/// A stored token (only its hash is kept) with the grant it belongs to.
struct TokenRecord {
  TokenKind kind = TokenKind::access;
  std::int64_t expires = 0;
  bool used = false;  ///< a refresh token that was exchanged already
  Grant grant;
};

/// The authorization server's state in SQLite (WAL, schema versioned): clients, grants and the hashes
/// of access and refresh tokens. Created on the first start with OAuth on; afterwards a database that
/// is corrupt, unreadable or of a newer schema is an error, never a reset (old tokens must not come
/// back to life, nor valid ones silently die). Authorization codes live in memory: a minute long.
/// Thread-safe: one connection behind a mutex (every statement is a primary-key lookup or a small write).
class Store {
 public:
  /// Opens `file`; creates it (and its directory, mode 0700) when it does not exist and `create`.
  static core::Result<std::unique_ptr<Store>> open(const std::filesystem::path& file, bool create);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr int kSchemaVersion = 1;

  core::Result<void> add_client(const Client& client);
  core::Result<std::optional<Client>> client(std::string_view client_id);
  /// Deletes clients that never obtained a grant and were registered before `cutoff`; returns how
  /// many such unused clients remain.
  core::Result<std::int64_t> prune_unused_clients(std::int64_t cutoff);

  core::Result<void> add_grant(const Grant& grant);
  /// Every grant, newest first.
  core::Result<std::vector<Grant>> grants();
  /// Deletes a grant and every token of it; false when there was none.
  core::Result<bool> revoke_grant(std::string_view grant_id);
  core::Result<void> touch_grant(std::string_view grant_id, std::int64_t now);

  core::Result<void> add_token(std::string_view hash, std::string_view grant_id, TokenKind kind, std::int64_t expires);
  core::Result<std::optional<TokenRecord>> token(std::string_view hash);
  /// Marks a refresh token used; false when it was used already (a replay: the caller revokes the grant).
  core::Result<bool> use_refresh_token(std::string_view hash);
  /// Deletes one token (revocation of a single access token); false when unknown.
  core::Result<bool> delete_token(std::string_view hash);
  /// Deletes tokens expired before `now`.
  core::Result<void> prune_tokens(std::int64_t now);

 private:
  explicit Store(std::unique_ptr<sqlite::Database> db);

  std::unique_ptr<sqlite::Database> m_db;
  std::mutex m_mutex;
};

/// The database file inside the state directory.
[[nodiscard]] std::filesystem::path database_path(const std::filesystem::path& state_dir);

}  // namespace oauth
