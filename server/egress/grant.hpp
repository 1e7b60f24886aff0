#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "egress/host_patterns.hpp"

namespace egress {

/// What one run may reach through the proxy, and how much of it. The server writes a grant
/// before the run's container starts and removes it when the run ends; the proxy reads it on
/// every connection, so a grant is in force exactly as long as its file exists.
struct Grant {
  std::string run_id;  ///< the proxy user name; lower-case hex, 8-64 characters
  std::string token;   ///< the proxy password; compared in constant time
  std::string policy;  ///< "packages", "allowlist" or "open": for logs and metrics only
  HostPatterns hosts;  ///< the names the run may reach ("*" under open)
  std::vector<int> ports{80, 443};
  std::uint64_t max_bytes = 256ULL * 1024 * 1024;  ///< both directions, all connections together
  int max_connections = 16;                        ///< open at once
  std::uint64_t max_bytes_per_second = 0;          ///< all connections together; 0 = not paced
};

/// True for a run id usable as a file name and proxy user: 8-64 lower-case hex characters.
bool valid_run_id(std::string_view run_id);

/// Grant <-> JSON (the file format shared by the server and the proxy).
std::string grant_to_json(const Grant& grant);
core::Result<Grant> grant_from_json(std::string_view text);

/// The grants in force: one file per run in a directory that the server writes and the proxy
/// reads (a shared volume when they are separate containers). Files are written to a temporary
/// name and renamed, so the proxy never reads half a grant. Thread-safe (no state but the path).
class GrantDirectory {
 public:
  explicit GrantDirectory(std::string path) : m_path(std::move(path)) {}
  /// Creates the directory (mode 0700) when it is missing.
  [[nodiscard]] core::Result<void> prepare() const;
  [[nodiscard]] core::Result<void> put(const Grant& grant) const;
  /// Removes a run's grant; a missing one is not an error.
  void remove(std::string_view run_id) const;
  /// The grant of `run_id`, nullopt when there is none (or the id is malformed).
  [[nodiscard]] std::optional<Grant> find(std::string_view run_id) const;
  [[nodiscard]] const std::string& path() const { return m_path; }

 private:
  std::string m_path;
};

}  // namespace egress
