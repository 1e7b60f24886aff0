#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace metrics {

/// Every metric family the server exports, in one place. Thread-safe.
/// Names follow Prometheus conventions with the `mcp_sandbox_` prefix.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// A run started / ended (runs in flight).
  void run_started();
  /// A run ended: `outcome` is ok, failed, timeout, oom, cancelled or error.
  void run_finished(std::string_view language, std::string_view outcome, double seconds);
  /// One Engine API call; `error_kind` empty when it succeeded.
  void engine_call(std::string_view call, std::string_view error_kind, double seconds);
  /// One HTTP request answered.
  void http_request(std::string_view route, int status);
  /// One /files request: `result` is ok, expired, forbidden, not_found, ...
  void file_download(std::string_view result, std::uint64_t bytes);
  /// Current number of open MCP sessions.
  void set_sessions(std::size_t open);

  /// The Prometheus text exposition of every family.
  [[nodiscard]] std::string serialize() const;

 private:
  struct Families;
  std::unique_ptr<Families> m_families;
};

}  // namespace metrics
