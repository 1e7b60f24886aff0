#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace sandbox {

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
  core::Result<core::Fd> open_regular(std::string_view path, std::int64_t& size) const;

  /// Entries under `directory` ("" for the root), depth-first, sorted by path; an entry of
  /// `directory` itself named `skip` is neither listed nor entered (the packages folder).
  core::Result<Listing> list(std::string_view directory, bool recursive, ScanLimits limits = {},
                             std::string_view skip = {}) const;

  /// Removes a file, or a directory with everything in it.
  core::Result<void> remove(std::string_view path) const;

 private:
  /// Opens the directory that holds the last component of `path`; `name` gets that component.
  core::Result<core::Fd> open_parent(std::string_view path, bool create, std::string& name) const;

  std::filesystem::path m_root;
};

}  // namespace sandbox
