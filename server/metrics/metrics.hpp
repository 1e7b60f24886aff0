#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace metrics {

/// Every metric family the server exports, in one place. Thread-safe.
/// Names follow Prometheus conventions with the `mcp_sandbox_` prefix.
class Metrics {
 public:
  /// Most distinct `language` label values ever exported (every series is kept until a restart).
  static constexpr std::size_t kMaxLanguages = 32;

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// A run started / ended (runs in flight).
  void run_started();
  /// A run ended: `outcome` is ok, failed, timeout, oom, install_failed, cancelled or error; `language` is a runner's
  /// name or "unknown" (runner::CodeRun maps what a caller wrote). As a backstop, a label is never
  /// made from more than kMaxLanguages distinct languages: later ones count as "other".
  void run_finished(std::string_view language, std::string_view outcome, double seconds);
  /// One Engine API call; `error_kind` empty when it succeeded.
  void engine_call(std::string_view call, std::string_view error_kind, double seconds);
  /// One HTTP request answered.
  void http_request(std::string_view route, int status);
  /// One /files request: `result` is ok, expired, forbidden, not_found, ...
  void file_download(std::string_view result, std::uint64_t bytes);
  /// A run or upload found its conversation's storage full (quota reached).
  void storage_full();
  /// A call's dependencies were `result` (installed, cached or failed) for `language` (a runner's name).
  void package_install(std::string_view language, std::string_view result);
  /// The sweep deleted, unmounted or failed on conversations (`action`: removed, unmounted, failed).
  void conversations_swept(std::string_view action, int count);
  /// The reaper removed `count` orphaned run containers of this instance.
  void containers_reaped(std::size_t count);
  /// Current number of open MCP sessions.
  void set_sessions(std::size_t open);
  /// Runs holding an admission slot and runs waiting for one, after each change.
  void set_admission(std::size_t running, std::size_t queued);
  /// A run refused by admission: `reason` is queue_full, queue_timeout or cancelled.
  void run_rejected(std::string_view reason);
  /// An event of the OAuth authorization server; `event` is one of a fixed set (never a client id).
  void oauth_event(std::string_view event);
  /// A request answered 429 before it was served: `reason` is tool_calls or auth_failures.
  void rate_limited(std::string_view reason);
  /// A connection closed by the HTTP guard: `reason` is per_peer (too many open from one address)
  /// or read_deadline (its request was not read in time).
  void connection_refused(std::string_view reason);
  /// Warm containers waiting for their conversation's next run.
  void set_warm_idle(std::size_t idle);
  /// A run looked for a warm container: hit or miss.
  void warm_claim(bool hit);
  /// Started containers waiting for new conversations right now.
  void set_warm_new_ready(std::size_t ready);
  /// A new conversation's first run_code: served from the pool (hit) or not (miss).
  void warm_new_conversation(bool hit);
  /// A run of an existing conversation borrowed a started container from the new-conversation pool.
  void warm_lent();
  /// A warm container was removed unused: image_changed, spec_changed, idle, evicted, ...
  void warm_discard(std::string_view reason);
  /// The egress proxy allowed or refused a request. `policy` is packages, allowlist or open
  /// (anything else counts as unknown: the caller was not yet identified); `reason` is one of
  /// egress::Reason's names, a bounded set.
  void egress_decision(std::string_view policy, bool allowed, std::string_view reason);

  /// The Prometheus text exposition of every family.
  [[nodiscard]] std::string serialize() const;

 private:
  struct Families;
  std::unique_ptr<Families> m_families;
};

}  // namespace metrics
