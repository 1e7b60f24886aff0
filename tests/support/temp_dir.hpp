#pragma once

#include <filesystem>
#include <string>
#include <system_error>

#include "core/random.hpp"

namespace testing {

/// A fresh directory under the system's temp directory, removed with everything in it when the
/// object goes out of scope.
struct TempDir {
  explicit TempDir(const std::string& prefix = "mcp-sandbox-test-")
      : path(std::filesystem::temp_directory_path() / (prefix + core::random_hex(6))) {
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path path;
};

}  // namespace testing
