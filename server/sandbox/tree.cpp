#include "sandbox/tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "core/fd.hpp"

namespace sandbox {
namespace {

using core::ErrorKind;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kMaxDepth = 32;

core::Error failure(std::string_view shown) {
  const auto kind = errno == ENOENT ? ErrorKind::not_found : ErrorKind::internal;
  return core::Error{kind, "cannot delete " + std::string(shown) + ": " + std::strerror(errno)};
}

// A subdirectory of `dir_fd`, opened only if it is on the same mount: a file system (or a bind
// mount, even of the same file system) mounted inside a tree is never walked into, so removing a
// tree can never empty what someone mounted there. openat2's RESOLVE_NO_XDEV refuses exactly that
// (EXDEV); where the kernel has no openat2 (before 5.6), a change of device is the check instead,
// which sees mounts of other file systems but not bind mounts of the same one.
int open_same_mount(int dir_fd, const std::string& name) {
  open_how how{};
  how.flags = kDirFlags;
  how.resolve = RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const long opened = ::syscall(SYS_openat2, dir_fd, name.c_str(), &how, sizeof(how));
  if (opened >= 0 || errno != ENOSYS) return static_cast<int>(opened);
  struct stat parent {};
  struct stat child {};
  core::Fd fd(::openat(dir_fd, name.c_str(), kDirFlags));
  if (fd.get() < 0) return -1;
  if (::fstat(dir_fd, &parent) != 0 || ::fstat(fd.get(), &child) != 0) return -1;
  if (parent.st_dev != child.st_dev) {
    errno = EXDEV;
    return -1;
  }
  return fd.release();
}

struct Walk {
  int top_fd;
  std::string_view shown;
  unsigned long moved = 0;  // directories moved up into the top one this pass
  unsigned long next_name = 0;
};

core::Result<void> clear(Walk& walk, int dir_fd, int depth) {
  auto names = entry_names(dir_fd);
  if (!names) return core::fail(names.error().kind, "cannot delete " + std::string(walk.shown) + ": " + names.error().message);
  for (const auto& name : *names) {
    if (::unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) continue;
    if (errno != EISDIR && errno != EPERM) return core::fail(failure(walk.shown));
    if (depth >= kMaxDepth) {
      // Too deep to descend further: hang the directory under the top one.
      for (;;) {
        const std::string moved_name = ".rm-" + std::to_string(walk.next_name++);
        if (::renameat2(dir_fd, name.c_str(), walk.top_fd, moved_name.c_str(), RENAME_NOREPLACE) == 0) break;
        if (errno != EEXIST) return core::fail(failure(walk.shown));
      }
      ++walk.moved;
      continue;
    }
    core::Fd child(open_same_mount(dir_fd, name));
    if (child.get() < 0 && errno == EXDEV) {
      return core::fail(ErrorKind::conflict,
                        "cannot delete " + std::string(walk.shown) + ": a file system is mounted inside it");
    }
    if (child.get() < 0) return core::fail(failure(walk.shown));
    if (auto cleared = clear(walk, child.get(), depth + 1); !cleared) return cleared;
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return core::fail(failure(walk.shown));
  }
  return {};
}

}  // namespace

core::Result<std::vector<std::string>> entry_names(int dir_fd, std::size_t max_names) {
  const int fd = ::dup(dir_fd);
  DIR* stream = fd < 0 ? nullptr : ::fdopendir(fd);
  if (stream == nullptr) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    return core::fail(error == ENOENT ? ErrorKind::not_found : ErrorKind::internal, std::strerror(error));
  }
  // The dup shares its offset with dir_fd, which an earlier reader may have left at the end.
  ::rewinddir(stream);
  std::vector<std::string> names;
  while (names.size() < max_names) {
    const dirent* entry = ::readdir(stream);
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(stream);
  return names;
}

core::Result<void> remove_tree(int parent_fd, const std::string& name, std::string_view shown) {
  if (::unlinkat(parent_fd, name.c_str(), 0) == 0) return {};
  if (errno != EISDIR && errno != EPERM) return core::fail(failure(shown));
  core::Fd top(::openat(parent_fd, name.c_str(), kDirFlags));
  if (top.get() < 0) return core::fail(failure(shown));
  Walk walk{top.get(), shown};
  do {
    walk.moved = 0;
    if (auto cleared = clear(walk, top.get(), 1); !cleared) return cleared;
  } while (walk.moved > 0);
  if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0) return core::fail(failure(shown));
  return {};
}

}  // namespace sandbox
