#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sandbox {

/// How many conversations each caller's list keeps (the oldest drop out).
inline constexpr std::size_t kConversationsPerCaller = 1000;

/// One entry of a caller's list of conversations.
struct IndexedConversation {
  std::string key;              ///< the conversation's key: the HMAC hex of its id (never the id)
  std::int64_t last_used_unix;  ///< seconds
};

/// The server's persistent index of conversations, one SQLite database in the state directory
/// (`conversations.db`, WAL): which directory under the sandbox root holds each conversation
/// (its key, unless it was born in a directory prepared before it existed), and which
/// conversations each caller used, newest first and bounded per caller. A database this version
/// cannot read (corrupt, unreadable, or written by a newer version) is refused at start-up, never
/// silently reset. Thread-safe: one connection behind a mutex; every statement is short.
class ConversationIndex {
 public:
  /// Opens or creates <state_dir>/conversations.db (creating `state_dir` when missing);
  /// `per_caller_cap` bounds each caller's list. `now` gives unix seconds (the system clock when empty).
  static core::Result<std::unique_ptr<ConversationIndex>> open(const std::filesystem::path& state_dir,
                                                                std::size_t per_caller_cap,
                                                                std::function<std::int64_t()> now = {});
  ~ConversationIndex();
  ConversationIndex(const ConversationIndex&) = delete;
  ConversationIndex& operator=(const ConversationIndex&) = delete;

  /// The directory name (under SANDBOX_ROOT) of a conversation key: the key itself unless the
  /// conversation was born in a pre-made directory (adopt); so existing conversations keep working.
  core::Result<std::string> directory_for(std::string_view key);

  /// The directory of conversation `key`, for a use that may create it: an unbound key is bound to
  /// its own directory (the key) first, in the same step that adopt() takes, so a conversation is
  /// born in one directory only, whichever call comes first.
  core::Result<std::string> bind_own(std::string_view key);

  /// Records a directory made ahead of any conversation (a pooled container's /data): until adopt()
  /// binds it, it is nobody's, and unborn() names it so the sweep removes it when a crash left it.
  core::Result<void> reserve(std::string_view directory);

  /// Directories reserve() recorded that no conversation adopted (yet).
  core::Result<std::vector<std::string>> unborn();

  /// Binds a never-seen conversation key to a directory prepared before it existed (a pooled
  /// container's /data), ending its reservation. Fails (conflict) if the key is already bound or
  /// used, or the directory already belongs to a conversation; then the key's directory is
  /// wherever the first call put it (bind_own or another adopt).
  core::Result<void> adopt(std::string_view key, std::string_view directory);

  /// Records that `caller` (e.g. "token:1a2b..." or "oauth:<grant>") used conversation `key` now;
  /// keeps the newest per_caller_cap entries per caller.
  core::Result<void> record_use(std::string_view caller, std::string_view key);

  /// A caller's conversations, newest first; `after` (exclusive: the last entry of the previous
  /// page) pages.
  core::Result<std::vector<IndexedConversation>> recent(std::string_view caller, std::size_t limit,
                                                        std::optional<IndexedConversation> after = std::nullopt);

  /// Whether `caller` has used conversation `key` (and it is still in their list).
  [[nodiscard]] bool used_by(std::string_view caller, std::string_view key);

  /// The sweep removed the conversation: drop its binding and every caller's entry.
  core::Result<void> forget(std::string_view key);

  /// The key of the conversation that lives in `directory`: its bound key, else the directory
  /// name itself (a conversation of the original layout); a reserved directory's reservation key,
  /// which forget() drops like any. For the sweep, which sees directories.
  core::Result<std::string> key_for_directory(std::string_view directory);

  /// Whether `directory` is reserved and not adopted.
  [[nodiscard]] core::Result<bool> is_unborn(std::string_view directory);

  /// The schema version this build writes and reads.
  static constexpr int kSchemaVersion = 1;

  struct Db;

 private:
  ConversationIndex(std::unique_ptr<Db> db, std::size_t per_caller_cap, std::function<std::int64_t()> now);

  std::mutex m_mutex;
  std::unique_ptr<Db> m_db;
  std::size_t m_per_caller_cap;
  std::function<std::int64_t()> m_now;
};

}  // namespace sandbox
