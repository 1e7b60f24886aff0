#include "sandbox/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "core/random.hpp"
#include "sandbox/paths.hpp"
#include "sandbox/tree.hpp"
#include "sandbox/workspace.hpp"

namespace sandbox {
namespace {

using core::ErrorKind;

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

core::Error errno_error(const std::string& what, std::string_view path) {
  const int code = errno;
  ErrorKind kind = ErrorKind::internal;
  std::string reason = std::strerror(code);
  switch (code) {
    case ENOENT: kind = ErrorKind::not_found; reason = "no such file or directory"; break;
    case ELOOP:
    case ENOTDIR: kind = ErrorKind::invalid_argument; reason = "a component is a symbolic link or not a directory"; break;
    case EEXIST:
    case ENOTEMPTY:
    case EISDIR: kind = ErrorKind::conflict; break;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: kind = ErrorKind::unavailable; reason = "no space left for this conversation"; break;
    case ENXIO: kind = ErrorKind::invalid_argument; reason = "not a regular file"; break;
    default: break;
  }
  return core::Error{kind, what + " " + std::string(path) + ": " + reason};
}

core::Result<void> checked(std::string_view path, bool allow_root) {
  if (auto problem = check_relative_path(path, allow_root); !problem.empty()) {
    return core::fail(ErrorKind::invalid_argument, problem);
  }
  return {};
}

FileInfo::Type type_of(mode_t mode) {
  if (S_ISREG(mode)) return FileInfo::Type::file;
  if (S_ISDIR(mode)) return FileInfo::Type::directory;
  if (S_ISLNK(mode)) return FileInfo::Type::symlink;
  return FileInfo::Type::other;
}

// Depth-first scan of an open directory; never follows links, stops at the limits.
void scan(int dir_fd, const std::string& prefix, int depth, bool recursive, const ScanLimits& limits,
          std::string_view skip, Listing& listing) {
  // One name past the limit tells the caller the listing was cut.
  auto read = entry_names(dir_fd, std::max(limits.max_entries, limits.max_entries + 1));
  if (!read) return;
  auto& names = *read;
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    if (listing.entries.size() >= limits.max_entries) {
      listing.truncated = true;
      return;
    }
    if (depth == 0 && !skip.empty() && name == skip) continue;
    struct stat info {};
    if (::fstatat(dir_fd, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) continue;
    FileInfo file{prefix + name, type_of(info.st_mode), static_cast<std::int64_t>(info.st_size),
                  static_cast<std::int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec};
    listing.entries.push_back(file);
    if (!recursive || file.type != FileInfo::Type::directory) continue;
    if (depth + 1 >= limits.max_depth) {
      listing.truncated = true;
      continue;
    }
    core::Fd child(::openat(dir_fd, name.c_str(), kDirFlags));
    if (child.get() >= 0) scan(child.get(), file.path + "/", depth + 1, recursive, limits, skip, listing);
  }
}

}  // namespace

SandboxFiles::SandboxFiles(std::filesystem::path root) : m_root(std::move(root)) {}

core::Result<core::Fd> SandboxFiles::open_parent(std::string_view path, bool create, std::string& name) const {
  auto parts = split_path(path);
  if (parts.empty()) return core::fail(ErrorKind::invalid_argument, "path must name a file");
  name = parts.back();
  parts.pop_back();
  core::Fd dir(::open(m_root.c_str(), kDirFlags));
  if (dir.get() < 0) return core::fail(errno_error("cannot open the conversation's directory", ""));
  for (const auto& part : parts) {
    if (create && ::mkdirat(dir.get(), part.c_str(), 0755) == 0) {
      ::fchownat(dir.get(), part.c_str(), kRunnerUid, kRunnerGid, AT_SYMLINK_NOFOLLOW);
    }
    core::Fd next(::openat(dir.get(), part.c_str(), kDirFlags));
    if (next.get() < 0) return core::fail(errno_error("cannot open", path));
    dir = std::move(next);
  }
  return dir;
}

core::Result<void> SandboxFiles::write(std::string_view path, std::string_view content) const {
  if (auto ok = checked(path, false); !ok) return ok;
  std::string name;
  auto dir = open_parent(path, true, name);
  if (!dir) return core::fail(dir.error());
  // Only a regular file (or nothing) may be replaced; a link or FIFO planted by a run stays put.
  struct stat existing {};
  if (::fstatat(dir->get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(existing.st_mode)) {
    return core::fail(ErrorKind::invalid_argument, "cannot write " + std::string(path) + ": not a regular file");
  }
  // The bytes go to an unnamed file first, which gets the name only when all
  // of it is written: a write that hits the conversation's quota leaves no
  // partial file and the old content intact.
  core::Fd file(::openat(dir->get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644));
  if (file.get() < 0) return core::fail(errno_error("cannot write", path));
  ::fchown(file.get(), kRunnerUid, kRunnerGid);
  std::size_t written = 0;
  while (written < content.size()) {
    const auto n = ::write(file.get(), content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return core::fail(errno_error("cannot write", path));
    }
    written += static_cast<std::size_t>(n);
  }
  // Link it under a fresh name, then rename over the target in one step.
  const std::string proc_path = "/proc/self/fd/" + std::to_string(file.get());
  for (int attempt = 0;; ++attempt) {
    const std::string temporary = ".upload-" + core::random_hex(8);
    if (::linkat(AT_FDCWD, proc_path.c_str(), dir->get(), temporary.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      if (::renameat(dir->get(), temporary.c_str(), dir->get(), name.c_str()) == 0) return {};
      auto error = errno_error("cannot write", path);
      ::unlinkat(dir->get(), temporary.c_str(), 0);
      return core::fail(error);
    }
    if (errno != EEXIST || attempt > 4) return core::fail(errno_error("cannot write", path));
  }
}

core::Result<core::Fd> SandboxFiles::open_regular(std::string_view path, std::int64_t& size) const {
  if (auto ok = checked(path, false); !ok) return core::fail(ok.error());
  std::string name;
  auto dir = open_parent(path, false, name);
  if (!dir) return core::fail(dir.error());
  // Look before opening: opening a device node can have effects of its own
  // (the fstat below catches a swap between the two).
  struct stat before {};
  if (::fstatat(dir->get(), name.c_str(), &before, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(before.st_mode) &&
      !S_ISDIR(before.st_mode)) {
    return core::fail(ErrorKind::invalid_argument, std::string(path) + " is not a regular file");
  }
  core::Fd file(::openat(dir->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (file.get() < 0) return core::fail(errno_error("cannot read", path));
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return core::fail(errno_error("cannot read", path));
  if (S_ISDIR(info.st_mode)) return core::fail(ErrorKind::invalid_argument, std::string(path) + " is a directory");
  if (!S_ISREG(info.st_mode)) return core::fail(ErrorKind::invalid_argument, std::string(path) + " is not a regular file");
  size = static_cast<std::int64_t>(info.st_size);
  return file;
}

core::Result<std::string> SandboxFiles::read(std::string_view path, std::size_t max_bytes) const {
  std::int64_t size = 0;
  auto file = open_regular(path, size);
  if (!file) return core::fail(file.error());
  if (static_cast<std::uint64_t>(size) > max_bytes) {
    return core::fail(ErrorKind::invalid_argument, std::string(path) + " is " + std::to_string(size) +
                                                       " bytes; at most " + std::to_string(max_bytes) +
                                                       " can be read this way (use its download URL)");
  }
  std::string content;
  content.resize(static_cast<std::size_t>(size));
  std::size_t got = 0;
  while (got < content.size()) {
    const auto n = ::read(file->get(), content.data() + got, content.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the file shrank while we read: return what is there
    got += static_cast<std::size_t>(n);
  }
  content.resize(got);
  return content;
}

core::Result<Listing> SandboxFiles::list(std::string_view directory, bool recursive, ScanLimits limits,
                                         std::string_view skip) const {
  if (auto ok = checked(directory, true); !ok) return core::fail(ok.error());
  core::Fd dir(::open(m_root.c_str(), kDirFlags));
  if (dir.get() < 0) return core::fail(errno_error("cannot open the conversation's directory", ""));
  std::string prefix;
  for (const auto& part : split_path(directory)) {
    core::Fd next(::openat(dir.get(), part.c_str(), kDirFlags));
    if (next.get() < 0) return core::fail(errno_error("cannot list", directory));
    dir = std::move(next);
    prefix += part + "/";
  }
  Listing listing;
  scan(dir.get(), prefix, 0, recursive, limits, skip, listing);
  return listing;
}

core::Result<void> SandboxFiles::remove(std::string_view path) const {
  if (auto ok = checked(path, false); !ok) return ok;
  std::string name;
  auto dir = open_parent(path, false, name);
  if (!dir) return core::fail(dir.error());
  auto removed = remove_tree(dir->get(), name, path);
  if (!removed && removed.error().kind == ErrorKind::not_found) {
    return core::fail(ErrorKind::not_found, "cannot delete " + std::string(path) + ": no such file or directory");
  }
  return removed;
}

}  // namespace sandbox
