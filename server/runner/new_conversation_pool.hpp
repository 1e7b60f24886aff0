#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runner/executor.hpp"
#include "sandbox/workspace.hpp"

namespace runner {

struct NewConversationPoolOptions {
  /// Started containers kept per runner language in use; 0 disables the pool.
  std::size_t per_language = 1;
  /// A language no new conversation asked for this long gets no pool; a pooled container this
  /// old is replaced (so none waits forever on a stale image or a long-gone burst).
  std::chrono::seconds idle_lifetime{600};
  /// How often the background thread refills and expires; 0 = no thread (tests call tick()).
  std::chrono::milliseconds check_interval{1000};
};

/// What the pool reports, for metrics (all optional).
struct NewConversationPoolEvents {
  std::function<void(bool hit)> taken{};  ///< a new conversation asked: served from the pool, or not
  std::function<void(std::size_t pooled)> size_changed{};
  std::function<void()> lent{};  ///< a run of an existing conversation borrowed a started container (lend())
};

/// Started containers for conversations that do not exist yet. For each runner language that new
/// conversations use, a few fresh, empty directories (with their volumes) are made under random
/// names, and a container is started on each through the warm pool, waiting for code. A new
/// conversation (no conversationId, or one never seen) takes one: the directory is bound to it
/// (Workspaces::adopt) and its first run claims the container like any warm successor.
///
/// Promises: a directory and its container serve exactly one conversation (taken once,
/// forgotten); a directory never had another conversation's files; pooled containers are the
/// warm pool's, so they are tracked for the reaper, discarded on image or spec changes, count
/// toward WARM_MAX and go on shutdown; unused ones are removed after idle_lifetime, with their
/// directories. Only runs without network are served. Thread-safe.
class NewConversationPool {
 public:
  NewConversationPool(Executor& executor, const sandbox::Workspaces& workspaces, NewConversationPoolOptions options,
                      NewConversationPoolEvents events = {});
  ~NewConversationPool();
  NewConversationPool(const NewConversationPool&) = delete;
  NewConversationPool& operator=(const NewConversationPool&) = delete;

  /// A fresh, unbound directory whose container for `language` (a name or an alias) is ready or
  /// starting; nullopt when there is none (the caller starts cold). Marks the language in use;
  /// the refill starts at the caller's run_ended() (or the next check).
  std::optional<sandbox::Workspace> take(const std::string& language);

  /// A directory whose container for `language` is started and waiting, for a run of an existing
  /// conversation whose own next container is not ready (a call sent right after the previous
  /// answer): the caller attaches the conversation's directory on it for that run
  /// (RunRequest::borrowed), then gives it up. nullopt when none is started. Refills like take(),
  /// but does not put the language in use: the pools are kept for new conversations' languages.
  std::optional<sandbox::Workspace> lend(const std::string& language);

  /// The run of the call that used take() or lend() has its output: start the refill now. Not at take():
  /// a start's burst of engine CPU would compete with that very run on a small host. Cheap when
  /// nothing is wanted.
  void run_ended();

  /// A directory take() gave that could not be bound, or whose container a run of another
  /// conversation borrowed (RunRequest::borrowed; detached): removed, container and all.
  void give_up(const sandbox::Workspace& workspace);

  /// Removes expired and broken entries, forgets languages unused for idle_lifetime, and starts
  /// what the languages in use are missing.
  void tick(std::chrono::steady_clock::time_point now);

  /// Stops refilling and removes every pooled container and directory. Idempotent.
  void shutdown();

  /// Pooled directories (with a container ready or starting) right now.
  [[nodiscard]] std::size_t size() const;

 private:
  struct Pooled {
    sandbox::Workspace workspace;
    std::chrono::steady_clock::time_point made;
  };

  /// The first pooled directory for `language` whose container is ready (`started_only`) or at
  /// least on its way; entries whose container is gone are removed on the way.
  std::optional<sandbox::Workspace> take_from(const std::string& language, bool started_only);
  void remove(std::vector<Pooled> entries, std::string_view reason);
  void loop();
  void report_size();

  Executor& m_executor;
  const sandbox::Workspaces& m_workspaces;
  NewConversationPoolOptions m_options;
  NewConversationPoolEvents m_events;

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  std::map<std::string, std::deque<Pooled>> m_pooled;                  ///< language -> ready directories
  std::map<std::string, std::chrono::steady_clock::time_point> m_used;  ///< language -> last asked for
  bool m_stopping = false;
  bool m_refill_wanted = false;  ///< take() was called since the last tick
  bool m_refill_now = false;     ///< run_ended() asked the thread to tick now
  std::thread m_thread;
};

}  // namespace runner
