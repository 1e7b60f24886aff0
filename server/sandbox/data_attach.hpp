#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sandbox {

/// The mount a path lies on, and how mounts made below it propagate.
struct MountPropagation {
  std::filesystem::path mount_point;
  bool shared = false;  ///< mounts made below it reach its peers (and their slaves)
  bool slave = false;   ///< it receives mounts from a master
};

/// The mount that holds `path` (the longest mount point that is a prefix of it) in a
/// /proc/<pid>/mountinfo text; nullopt when none does (a malformed text). `path` must be absolute
/// and free of links (canonical).
std::optional<MountPropagation> propagation_in(std::string_view mountinfo, const std::filesystem::path& path);

/// The same, for this process's own mounts.
core::Result<MountPropagation> propagation_of(const std::filesystem::path& path);

/// How many mounts a mountinfo text lists exactly at `mount_point` (stacked ones each count).
std::size_t mounts_in(std::string_view mountinfo, const std::filesystem::path& mount_point);

/// The same, for this process's own mounts (0 when they cannot be read).
std::size_t mounts_at(const std::filesystem::path& mount_point);

/// Makes mounts made under `root` reach the containers that bind a directory under it with slave
/// propagation (a pooled container's /data, see AttachedDirectory): the engine only accepts such a
/// bind from a shared (or slave) mount, and a mount made here only reaches the container through
/// a shared one. When `root` is on a mount that is not shared, binds `root` onto itself
/// (recursively, so volumes mounted inside stay where they are) and makes that mount shared.
/// Returns whether the bind is this program's to undo: made now, or made by a process that ended
/// without undoing it (a marker file in `root` says so). Needs CAP_SYS_ADMIN; fails (unavailable)
/// without it.
core::Result<bool> share_mounts_under(const std::filesystem::path& root);

/// Undoes share_mounts_under's bind of `root` onto itself (lazily: what is still in use below it
/// goes when it is no longer used).
core::Result<void> unshare_mounts_under(const std::filesystem::path& root);

/// One directory shown at another for the length of one run: a conversation's directory bind
/// mounted on the directory a started, pooled container has at /data with slave propagation, so
/// the container sees the conversation's files from then on (a process must look up /data again:
/// the bootstrap changes into it after reading the code). Undone by detach() or the destructor;
/// what was under it (the pooled directory, empty) shows again. Move-only.
class AttachedDirectory {
 public:
  /// Bind-mounts `directory` on `at`. Both are this process's paths of existing directories.
  static core::Result<AttachedDirectory> attach(const std::filesystem::path& directory,
                                                const std::filesystem::path& at);

  AttachedDirectory(AttachedDirectory&& other) noexcept;
  AttachedDirectory& operator=(AttachedDirectory&& other) noexcept;
  AttachedDirectory(const AttachedDirectory&) = delete;
  AttachedDirectory& operator=(const AttachedDirectory&) = delete;
  ~AttachedDirectory();

  /// Unmounts the bind (lazily: a process still inside keeps its view until it leaves). Idempotent.
  core::Result<void> detach();

 private:
  explicit AttachedDirectory(std::filesystem::path at) : m_at(std::move(at)) {}
  std::filesystem::path m_at;  ///< empty once detached
};

}  // namespace sandbox
