#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/quota_volume.hpp"

namespace sandbox {

/// The uid and gid that own conversation directories and run every program.
inline constexpr unsigned kRunnerUid = 1000;
inline constexpr unsigned kRunnerGid = 1000;

/// One conversation's directory, seen from this process and from the engine.
struct Workspace {
  std::string name;                   ///< directory name: an HMAC of the conversation id (or a random name), never the id
  std::filesystem::path server_path;  ///< where this process reads and writes it
  std::string engine_path;            ///< what the engine bind-mounts at /data
  bool ephemeral = false;             ///< removed when the run that made it ends
  /// Held by every copy while the workspace is in use: the sweep never unmounts
  /// or removes a conversation while any copy is alive. Releasing it records the use.
  std::shared_ptr<const void> lease;
  std::string key;                    ///< the conversation's key (HMAC hex of its id); empty for a throwaway workspace
};

/// How Workspaces keeps conversations.
struct WorkspaceOptions {
  VolumeLimits quota;                 ///< a fixed-size volume per conversation; off by default
  std::function<std::int64_t()> now;  ///< unix seconds; the system clock when empty (tests pass a fake)
  /// Where a conversation lives when not in the directory named by its key, and who used it;
  /// without one every conversation lives in the directory its key names (the original layout).
  std::shared_ptr<ConversationIndex> index;
};

/// What the periodic sweep removes or unmounts.
struct SweepPolicy {
  std::int64_t ttl_seconds = 0;                ///< conversations unused this long are deleted; 0: never
  std::int64_t unmount_idle_seconds = 600;     ///< volumes unused this long are unmounted (kept on disk)
  std::int64_t ephemeral_grace_seconds = 7200; ///< leftover throwaway (tmp-) workspaces unused this long are deleted
};

struct SweepReport {
  int removed = 0;    ///< conversations and throwaway workspaces deleted
  int unmounted = 0;  ///< idle volumes unmounted
  int in_use = 0;     ///< due, but skipped because a run, upload or download holds them
  std::vector<std::string> problems;
};

/// Maps conversation ids to directories under the sandbox root, and owns their
/// life: with a quota, each directory has its own fixed-size volume (mounted on
/// first use, re-used after a restart, unmounted when idle); the time of last
/// use is kept outside the conversation (`.last-use/<name>`), where no program
/// can change it, and the sweep deletes conversations idle past the TTL.
/// The root has two names: ours (`server_root`) and the engine's (`engine_root`),
/// which differ when this process runs in a container beside the engine.
/// Copies share their state; every method is safe to call from many threads.
class Workspaces {
 public:
  Workspaces(std::filesystem::path server_root, std::string engine_root, std::string file_secret,
             WorkspaceOptions options = {});

  /// Creates the root (and its `.images` and `.last-use` folders) when missing.
  /// Fails with a sentence saying what to fix.
  core::Result<void> prepare_root() const;

  /// With a quota: makes, mounts and unmounts a small probe volume, so a host
  /// that cannot mount (no CAP_SYS_ADMIN, no loop devices) fails at start-up
  /// instead of on a caller's first run. Succeeds at once without a quota.
  core::Result<void> check_quota_support() const;

  /// The conversation's directory, created (owned 1000:1000) and mounted when missing.
  /// Ids are 1-128 characters of letters, digits and `._:@-`. With an index, a new conversation is
  /// bound to its own directory in the same step adopt() takes: racing first calls agree on one.
  core::Result<Workspace> open(std::string_view conversation_id) const;

  /// An existing conversation by its id; never creates one (not_found when there is none). With
  /// `mount` false it does not mount an unmounted volume either (not_found: the conversation is idle),
  /// and the look does not count as a use (no last-use stamp), so a listing can look only at
  /// conversations in use without keeping them from the sweep.
  core::Result<Workspace> find(std::string_view conversation_id, bool mount) const;

  /// The conversation's key (the HMAC hex its directory is named by in the original layout).
  [[nodiscard]] std::string key_of(std::string_view conversation_id) const;

  /// Whether the conversation has a directory already (a use before, or adopted).
  [[nodiscard]] core::Result<bool> exists(std::string_view conversation_id) const;

  /// A fresh, empty directory (and volume) under a random name that no conversation has had,
  /// made ahead of any conversation (for a pooled container's /data), and reserved in the index.
  /// Until adopt() binds it, it is throwaway-like: discard() removes it, and the sweep removes it
  /// as soon as nothing holds it (left over by a process that ended before it could).
  core::Result<Workspace> open_unbound() const;

  /// Binds a never-seen conversation to a directory from open_unbound(); fails (conflict) when the
  /// conversation exists already or there is no index. The result is the conversation's workspace.
  core::Result<Workspace> adopt(std::string_view conversation_id, const Workspace& unbound) const;

  /// Records in the index that `caller` used the workspace's conversation now (once per tool call);
  /// nothing without an index, a caller, or for a throwaway workspace.
  core::Result<void> record_use(std::string_view caller, const Workspace& workspace) const;

  /// A fresh throwaway directory for a run that belongs to no conversation.
  core::Result<Workspace> open_ephemeral() const;

  /// An existing conversation by its directory name (from a download link);
  /// not_found when there is no such conversation. Never creates one.
  core::Result<Workspace> open_existing(std::string_view name) const;

  /// Removes an ephemeral workspace (never a conversation's), volume and all.
  void discard(const Workspace& workspace) const;

  /// Bytes and files used in the workspace's volume; nullopt without a quota.
  [[nodiscard]] std::optional<VolumeUsage> usage(const Workspace& workspace) const;

  /// Deletes conversations idle past the TTL and leftover throwaway
  /// workspaces, unmounts idle volumes, and removes images and stamps whose
  /// conversation is gone. Skips anything in use. Never follows links.
  SweepReport sweep(const SweepPolicy& policy) const;

  [[nodiscard]] const VolumeLimits& quota() const;

  /// Why a conversation id is refused, or an empty string when it is fine.
  static std::string check_conversation_id(std::string_view id);

  struct State;

 private:
  // `key` is the conversation's (empty for throwaway and unbound directories, and for a download's
  // look-up by directory name); `mount` false: see find().
  core::Result<Workspace> make(const std::string& name, std::string key, bool ephemeral, bool create,
                               bool mount) const;

  std::shared_ptr<State> m_state;
};

}  // namespace sandbox
