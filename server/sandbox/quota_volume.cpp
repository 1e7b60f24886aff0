#include "sandbox/quota_volume.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/fd.hpp"

namespace sandbox {
namespace fs = std::filesystem;
using core::ErrorKind;

namespace {

constexpr std::int64_t kMiB = 1024 * 1024;
// Inodes 1-10 are ext4's own (the root directory is inode 2); the user's files come after.
constexpr std::int64_t kReservedInodes = 10;
// Below this size a 4 MiB journal would eat a quarter of the volume.
constexpr std::int64_t kJournalFromBytes = 64 * kMiB;
constexpr int kLoopMajor = 7;

std::string errno_text() { return std::strerror(errno); }

const char* find_mkfs() {
  for (const char* candidate : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"}) {
    if (::access(candidate, X_OK) == 0) return candidate;
  }
  return nullptr;
}

// Runs argv[0] with a fixed, minimal environment (no secrets of ours reach it)
// and returns what it printed when it fails.
core::Result<void> run_program(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return core::fail(ErrorKind::internal, "pipe: " + errno_text());
  core::Fd read_end(pipe_fds[0]);
  core::Fd write_end(pipe_fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 2);
  std::vector<char*> argv;
  for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::array<char*, 3> envp{const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), const_cast<char*>("LC_ALL=C"),
                            nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  write_end = core::Fd();
  if (spawned != 0) return core::fail(ErrorKind::unavailable, "cannot run " + args[0] + ": " + std::strerror(spawned));
  std::string output;
  std::array<char, 1024> buffer{};
  for (;;) {
    const auto n = ::read(read_end.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 4096) output.append(buffer.data(), static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  return core::fail(ErrorKind::internal, args[0] + " failed (status " + std::to_string(status) + "): " + output);
}

// A free loop device with `image` attached, auto-clearing: it detaches itself
// when the last user (the mount) goes away. Returns its path and an open fd
// that must stay open until the mount holds the device.
core::Result<std::pair<std::string, core::Fd>> attach_loop(int image_fd, const fs::path& image) {
  core::Fd control(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (control.get() < 0) {
    return core::fail(ErrorKind::unavailable, "cannot open /dev/loop-control: " + errno_text() +
                                                  " (conversation quotas need loop devices and CAP_SYS_ADMIN: run as "
                                                  "root, or in a container with CAP_SYS_ADMIN and /dev/loop-control as compose/server.yml "
                                                  "grants, or set SANDBOX_QUOTA_MB=0)");
  }
  // Another process may take the device we were offered before we configure
  // it (EBUSY): ask again, a bounded number of times.
  for (int attempt = 0; attempt < 16; ++attempt) {
    const int number = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (number < 0) return core::fail(ErrorKind::unavailable, "no free loop device: " + errno_text());
    const std::string path = "/dev/loop" + std::to_string(number);
    core::Fd device(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    // In a container /dev is a snapshot: devices made later by loop-control have no node yet.
    if (device.get() < 0 && errno == ENOENT &&
        ::mknod(path.c_str(), S_IFBLK | 0660, makedev(kLoopMajor, static_cast<unsigned>(number))) == 0) {
      device = core::Fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    }
    if (device.get() < 0) return core::fail(ErrorKind::unavailable, "cannot open " + path + ": " + errno_text());
    loop_config config{};
    config.fd = static_cast<std::uint32_t>(image_fd);
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::snprintf(reinterpret_cast<char*>(config.info.lo_file_name), LO_NAME_SIZE, "%s", image.c_str());
    if (::ioctl(device.get(), LOOP_CONFIGURE, &config) == 0) return std::make_pair(path, std::move(device));
    if (errno == EBUSY) continue;
    if (errno != EINVAL && errno != ENOTTY) {
      return core::fail(ErrorKind::unavailable, "cannot attach " + image.string() + " to " + path + ": " + errno_text());
    }
    // Kernels before 5.8 have no LOOP_CONFIGURE: attach, then set the flags.
    if (::ioctl(device.get(), LOOP_SET_FD, image_fd) != 0) {
      if (errno == EBUSY) continue;
      return core::fail(ErrorKind::unavailable, "cannot attach " + image.string() + " to " + path + ": " + errno_text());
    }
    if (::ioctl(device.get(), LOOP_SET_STATUS64, &config.info) != 0) {
      const std::string reason = errno_text();
      ::ioctl(device.get(), LOOP_CLR_FD, 0);
      return core::fail(ErrorKind::unavailable, "cannot configure " + path + ": " + reason);
    }
    return std::make_pair(path, std::move(device));
  }
  return core::fail(ErrorKind::unavailable, "no free loop device after 16 attempts");
}

}  // namespace

bool VolumeUsage::full() const {
  const std::int64_t slack = std::max<std::int64_t>(kMiB, total_bytes / 200);
  return total_bytes - used_bytes < slack || used_files >= total_files;
}

std::string VolumeUsage::describe() const {
  std::array<char, 160> text{};
  std::snprintf(text.data(), text.size(), "%.1f of %.1f MB, %lld of %lld files used",
                static_cast<double>(used_bytes) / kMiB, static_cast<double>(total_bytes) / kMiB,
                static_cast<long long>(used_files), static_cast<long long>(total_files));
  return text.data();
}

core::Result<void> create_volume_image(const fs::path& image, const VolumeLimits& limits, unsigned uid, unsigned gid) {
  const char* mkfs = find_mkfs();
  if (mkfs == nullptr) {
    return core::fail(ErrorKind::unavailable, "mkfs.ext4 not found (install e2fsprogs) - it makes conversation volumes");
  }
  {
    core::Fd file(::open(image.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (file.get() < 0 || ::ftruncate(file.get(), limits.bytes) != 0) {
      return core::fail(ErrorKind::unavailable, "cannot create " + image.string() + ": " + errno_text());
    }
  }
  std::vector<std::string> args{mkfs, "-q", "-F", "-b", "4096", "-m", "0", "-N",
                                std::to_string(limits.files + kReservedInodes)};
  if (limits.bytes >= kJournalFromBytes) {
    args.insert(args.end(), {"-J", "size=4"});
  } else {
    args.insert(args.end(), {"-O", "^has_journal"});
  }
  // lazy_*_init: leave inode tables and journal unwritten, so the image stays sparse.
  args.insert(args.end(), {"-E",
                           "root_owner=" + std::to_string(uid) + ":" + std::to_string(gid) +
                               ",lazy_itable_init=1,lazy_journal_init=1,nodiscard",
                           image.string()});
  if (auto made = run_program(args); !made) {
    ::unlink(image.c_str());
    return made;
  }
  return {};
}

core::Result<void> mount_volume(const fs::path& image, const fs::path& mount_point) {
  core::Fd image_fd(::open(image.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (image_fd.get() < 0) return core::fail(ErrorKind::unavailable, "cannot open " + image.string() + ": " + errno_text());
  auto loop = attach_loop(image_fd.get(), image);
  if (!loop) return core::fail(loop.error());
  // Mount on the directory we opened without following links, via its fd.
  core::Fd target(::open(mount_point.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (target.get() < 0) {
    return core::fail(ErrorKind::unavailable, "cannot open " + mount_point.string() + ": " + errno_text());
  }
  const std::string target_path = "/proc/self/fd/" + std::to_string(target.get());
  // noinit_itable: the kernel would otherwise zero the lazily made inode tables in the background.
  if (::mount(loop->first.c_str(), target_path.c_str(), "ext4", MS_NOSUID | MS_NODEV | MS_NOATIME,
              "discard,noinit_itable") != 0) {
    return core::fail(ErrorKind::unavailable, "cannot mount " + image.string() + " on " + mount_point.string() + ": " +
                                                  errno_text() + " (needs CAP_SYS_ADMIN)");
  }
  return {};  // closing the loop fd now leaves the mount as its only user
}

core::Result<bool> is_mount_point(const fs::path& dir) {
  struct statx info {};
  if (::statx(AT_FDCWD, dir.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &info) != 0) {
    if (errno == ENOENT) return false;
    return core::fail(ErrorKind::unavailable, "cannot stat " + dir.string() + ": " + errno_text());
  }
  if ((info.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) != 0) {
    return (info.stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0;
  }
  // Older kernels: a mount point lives on another device than its parent.
  struct stat parent {};
  if (::stat(dir.parent_path().c_str(), &parent) != 0) {
    return core::fail(ErrorKind::unavailable, "cannot stat " + dir.parent_path().string() + ": " + errno_text());
  }
  return makedev(info.stx_dev_major, info.stx_dev_minor) != parent.st_dev;
}

core::Result<void> unmount_volume(const fs::path& mount_point) {
  if (::umount2(mount_point.c_str(), UMOUNT_NOFOLLOW) == 0 || errno == EINVAL || errno == ENOENT) return {};
  const auto kind = errno == EBUSY ? ErrorKind::conflict : ErrorKind::unavailable;
  return core::fail(kind, "cannot unmount " + mount_point.string() + ": " + errno_text());
}

core::Result<VolumeUsage> volume_usage(const fs::path& mount_point) {
  struct statvfs info {};
  if (::statvfs(mount_point.c_str(), &info) != 0) {
    return core::fail(ErrorKind::unavailable, "cannot read the size of " + mount_point.string() + ": " + errno_text());
  }
  const auto block = static_cast<std::int64_t>(info.f_frsize);
  VolumeUsage usage;
  usage.total_bytes = static_cast<std::int64_t>(info.f_blocks) * block;
  usage.used_bytes = usage.total_bytes - static_cast<std::int64_t>(info.f_bavail) * block;
  usage.total_files = static_cast<std::int64_t>(info.f_files) - kReservedInodes;
  usage.used_files = static_cast<std::int64_t>(info.f_files - info.f_ffree) - kReservedInodes;
  return usage;
}

}  // namespace sandbox
