#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sandbox {

/// An owned file descriptor, closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const { return m_fd; }
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd = -1;
};

struct FileInfo {
  enum class Type { file, directory, symlink, other };
  std::string path;  ///< relative to the sandbox
  Type type = Type::file;
  std::int64_t size = 0;
  std::int64_t mtime_ns = 0;
};

/// Bounds on a directory scan, so a hostile tree cannot make it unbounded.
struct ScanLimits {
  std::size_t max_entries = 10000;
  int max_depth = 16;
};

struct Listing {
  std::vector<FileInfo> entries;
  bool truncated = false;  ///< the scan stopped at a limit
};

/// File operations inside one conversation's directory. A run controls that
/// directory, so every path is opened component by component without
/// following symbolic links, and only regular files are read or written.
class SandboxFiles {
 public:
  explicit SandboxFiles(std::filesystem::path root);

  /// Writes `content` to `path`, creating parent directories; files and
  /// directories are owned by the runner user so later runs can change them.
  core::Result<void> write(std::string_view path, std::string_view content) const;

  /// The whole content of a regular file of at most `max_bytes`.
  core::Result<std::string> read(std::string_view path, std::size_t max_bytes) const;

  /// An open descriptor of a regular file, for streaming; `size` gets its size.
  core::Result<Fd> open_regular(std::string_view path, std::int64_t& size) const;

  /// Entries under `directory` ("" for the root), depth-first, sorted by path.
  core::Result<Listing> list(std::string_view directory, bool recursive, ScanLimits limits = {}) const;

  /// Removes a file, or a directory with everything in it.
  core::Result<void> remove(std::string_view path) const;

 private:
  /// Opens the directory that holds the last component of `path`; `name` gets that component.
  core::Result<Fd> open_parent(std::string_view path, bool create, std::string& name) const;

  std::filesystem::path m_root;
};

}  // namespace sandbox
