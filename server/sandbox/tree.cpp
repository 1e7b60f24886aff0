#include "sandbox/tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "sandbox/files.hpp"

namespace sandbox {
namespace {

using core::ErrorKind;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr int kMaxDepth = 32;

core::Error failure(std::string_view shown) {
  const auto kind = errno == ENOENT ? ErrorKind::not_found : ErrorKind::internal;
  return core::Error{kind, "cannot delete " + std::string(shown) + ": " + std::strerror(errno)};
}

core::Result<std::vector<std::string>> entries(int dir_fd, std::string_view shown) {
  const int fd = ::dup(dir_fd);
  DIR* stream = fd < 0 ? nullptr : ::fdopendir(fd);
  if (stream == nullptr) {
    if (fd >= 0) ::close(fd);
    return core::fail(failure(shown));
  }
  // The dup shares its offset with dir_fd, which an earlier pass has read to the end.
  ::rewinddir(stream);
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(stream);
  return names;
}

struct Walk {
  int top_fd;
  std::string_view shown;
  unsigned long moved = 0;  // directories moved up into the top one this pass
  unsigned long next_name = 0;
};

core::Result<void> clear(Walk& walk, int dir_fd, int depth) {
  auto names = entries(dir_fd, walk.shown);
  if (!names) return core::fail(names.error());
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
    Fd child(::openat(dir_fd, name.c_str(), kDirFlags));
    if (child.get() < 0) return core::fail(failure(walk.shown));
    if (auto cleared = clear(walk, child.get(), depth + 1); !cleared) return cleared;
    if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) return core::fail(failure(walk.shown));
  }
  return {};
}

}  // namespace

core::Result<void> remove_tree(int parent_fd, const std::string& name, std::string_view shown) {
  if (::unlinkat(parent_fd, name.c_str(), 0) == 0) return {};
  if (errno != EISDIR && errno != EPERM) return core::fail(failure(shown));
  Fd top(::openat(parent_fd, name.c_str(), kDirFlags));
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
