#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/image_ids.hpp"
#include "runner/run_container.hpp"

namespace runner {

struct WarmPoolOptions {
  std::size_t max_idle = 16;  ///< warm containers kept (and being started) at once
  std::chrono::seconds idle_timeout{300};
  /// How often the background thread looks for idle and outdated containers.
  std::chrono::milliseconds sweep_interval{1000};
  /// Background threads starting containers (starts are ~90% engine CPU); one more removes them.
  std::size_t workers = 2;
  /// Runs a start job; empty = the pool's own worker threads. Tests run jobs inline.
  std::function<void(std::function<void()>)> scheduler{};
};

/// Why a warm container was removed without running anything (a metric label).
namespace discard_reason {
inline constexpr std::string_view kImageChanged = "image_changed";
inline constexpr std::string_view kSpecChanged = "spec_changed";
inline constexpr std::string_view kIdle = "idle";
inline constexpr std::string_view kEvicted = "evicted";
inline constexpr std::string_view kReplaced = "replaced";
inline constexpr std::string_view kLanguageChanged = "language_changed";
inline constexpr std::string_view kDead = "dead";
inline constexpr std::string_view kShutdown = "shutdown";
inline constexpr std::string_view kStartFailed = "start_failed";
inline constexpr std::string_view kCancelled = "cancelled";  ///< its predecessor's run was cancelled: the client is gone
inline constexpr std::string_view kUnused = "unused";  ///< a new conversations' container nobody took in time
}  // namespace discard_reason

/// Whom a warm container is started for. Both count toward max_idle; when it is reached, the
/// longest-idle successor makes room first: a new conversation's container serves the next new
/// conversation of its language (every new chat starts with one), while a successor idle the
/// longest is the least likely to be claimed. New conversations' containers take at most half of
/// max_idle by evicting successors, so a small WARM_MAX still keeps successors.
enum class WarmFor { successor, new_conversation };

/// What the pool reports, for metrics (all optional; called without the pool's lock held).
struct WarmPoolEvents {
  std::function<void(std::size_t idle)> idle_changed{};
  std::function<void(bool hit)> claimed{};
  std::function<void(std::string_view reason)> discarded{};
};

/// Warm, single-use containers: once a conversation's run has its container, its *next*
/// container is created, attached and started in the background and left
/// blocked in the bootstrap (waiting for the framed code), so the next run of
/// that conversation only delivers code and collects output.
///
/// Promises: a warm container belongs to one conversation and one language,
/// serves at most one run (claim() hands it over and forgets it), and is
/// removed instead when its image was rebuilt, when the spec a run would get
/// differs (settings, environment, network), when it stays idle longer than
/// idle_timeout, when the bound evicts it, and on shutdown. Thread-safe.
class WarmPool {
 public:
  using Starter = std::function<core::Result<StartedContainer>()>;

  WarmPool(docker::Engine& engine, WarmPoolOptions options, WarmPoolEvents events = {});
  ~WarmPool();
  WarmPool(const WarmPool&) = delete;
  WarmPool& operator=(const WarmPool&) = delete;

  /// Starts `conversation`'s next container for `language` in the background
  /// (via `start`), unless one is ready or on its way. `image_ref` is the tag
  /// the runner image is known by; a rebuild moves the tag and the container is discarded.
  /// Returns whether a container for `conversation` is ready or on its way afterwards (false:
  /// the bound is reached and nothing may make room, see WarmFor).
  bool prepare(const std::string& conversation, const std::string& language, const std::string& image_ref,
               Starter start, WarmFor purpose = WarmFor::successor);

  /// Takes the conversation's warm container if it is for `language`, has the
  /// same spec fingerprint, is still running and its image is still current;
  /// a container that fails a check is removed. The caller owns the result.
  /// A start under way is waited for (it finishes sooner than a cold start
  /// would); one still queued is dropped, the caller starts cold instead.
  std::optional<StartedContainer> claim(const std::string& conversation, const std::string& language,
                                        const std::string& fingerprint);

  /// Removes a used container in the background (after its run's answer is
  /// on its way); it stays tracked until removed. Inline when jobs run inline.
  void retire(StartedContainer container);

  /// Whether prepare() for `purpose` would start a container now (a free slot, or one it may evict).
  [[nodiscard]] bool has_room(WarmFor purpose);

  /// Whether a container for `conversation` is ready, queued or being started.
  [[nodiscard]] bool holds(const std::string& conversation) const;

  /// Whether a container for `conversation` is started and waiting.
  [[nodiscard]] bool ready(const std::string& conversation) const;

  /// Removes `conversation`'s container (ready, queued or being started) for `reason`, now.
  void drop(const std::string& conversation, std::string_view reason);

  /// The language the conversation last ran (or was warmed for), if known.
  [[nodiscard]] std::optional<std::string> last_language(const std::string& conversation) const;

  /// Removes containers idle since before `now - idle_timeout` and those whose image tag moved.
  void sweep(std::chrono::steady_clock::time_point now);

  /// The image id `image_ref` names, for a container about to start: read within the last
  /// sweep_interval (most often by the claim of the run that starts it), so a run reads it once.
  /// A container pinned to an id that went stale in that time is caught by its own claim.
  core::Result<std::string> image_for_start(const std::string& image_ref);

  /// Stops the background work and removes every warm container. Idempotent.
  void shutdown();

  [[nodiscard]] std::size_t idle() const;

 private:
  struct Entry {
    std::string language;
    std::string image_ref;
    StartedContainer container;
    std::chrono::steady_clock::time_point ready_at;
    WarmFor purpose = WarmFor::successor;
  };

  /// The ready entry to evict so that a container for `purpose` fits, or end(); under the lock.
  std::map<std::string, Entry>::iterator eviction_victim(WarmFor purpose);

  void run_start_job(const std::string& conversation, const std::string& language, const std::string& image_ref,
                     const Starter& start, WarmFor purpose);
  void worker();
  void remover();
  void remove_retired();
  void discard(std::vector<Entry> entries, std::string_view reason);
  void discard(Entry entry, std::string_view reason);
  void report_idle();
  void remember_language(const std::string& conversation, const std::string& language);

  docker::Engine& m_engine;
  WarmPoolOptions m_options;
  WarmPoolEvents m_events;
  ImageIds m_images{m_engine};

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::map<std::string, Entry> m_ready;     ///< conversation -> its warm container
  std::map<std::string, WarmFor> m_starting;  ///< conversations whose container is queued or being started
  std::set<std::string> m_running_jobs;     ///< of those, the ones a worker is starting right now
  std::condition_variable m_job_done;
  std::deque<std::pair<std::string, std::function<void()>>> m_jobs;  ///< (conversation, job)
  std::vector<StartedContainer> m_retired;  ///< used containers waiting for removal
  std::condition_variable m_retired_added;
  std::map<std::string, std::string> m_last_language;
  bool m_stopping = false;
  std::chrono::steady_clock::time_point m_next_sweep;
  std::vector<std::thread> m_workers;
  std::thread m_remover;
};

}  // namespace runner
