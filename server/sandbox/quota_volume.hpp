#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "core/error.hpp"

namespace sandbox {

/// Size of one conversation's storage. The host filesystem is plain ext4 with
/// no project quotas and the engine has no root-filesystem quota, so each
/// conversation gets its own fixed-size ext4 image, loop-mounted on its
/// directory: the kernel then refuses writes past the size (ENOSPC) and files
/// past the inode count, whatever the program does.
struct VolumeLimits {
  std::int64_t bytes = 0;  ///< 0: quotas off, conversations are plain directories
  std::int64_t files = 0;  ///< files and folders (inodes)
  [[nodiscard]] bool enabled() const { return bytes > 0; }
};

/// What a mounted volume holds now, as statvfs reports it.
struct VolumeUsage {
  std::int64_t used_bytes = 0;
  std::int64_t total_bytes = 0;
  std::int64_t used_files = 0;
  std::int64_t total_files = 0;
  /// Nearly no room left for data or for one more file: a write most likely failed with ENOSPC.
  [[nodiscard]] bool full() const;
  /// "12.0 of 1024.0 MB, 7 of 20000 files used"
  [[nodiscard]] std::string describe() const;
};

/// Writes a sparse image of `limits.bytes` holding an empty ext4 filesystem with
/// room for `limits.files` files, its root owned by `uid`:`gid`. Runs
/// mkfs.ext4 with a fixed argument list (no shell). Only used blocks cost disk.
core::Result<void> create_volume_image(const std::filesystem::path& image, const VolumeLimits& limits, unsigned uid,
                                       unsigned gid);

/// Attaches `image` to a free loop device (auto-clearing, so unmounting frees
/// the device) and mounts it on the directory `mount_point` with
/// nosuid,nodev,noatime,discard. Needs CAP_SYS_ADMIN.
core::Result<void> mount_volume(const std::filesystem::path& image, const std::filesystem::path& mount_point);

/// True when a filesystem is mounted on `dir` (it is the root of a mount).
core::Result<bool> is_mount_point(const std::filesystem::path& dir);

/// Unmounts `mount_point` (never following a link); conflict when it is busy.
core::Result<void> unmount_volume(const std::filesystem::path& mount_point);

/// Bytes and files used on the filesystem mounted at `mount_point`.
core::Result<VolumeUsage> volume_usage(const std::filesystem::path& mount_point);

}  // namespace sandbox
