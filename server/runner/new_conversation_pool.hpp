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
  /// What every run of a conversation gets in its environment (FILE_BASE_URL): the pooled
  /// container is made with it, so a new conversation's first run matches its fingerprint.
  std::function<std::map<std::string, std::string>(const sandbox::Workspace&)> environment;
};

/// What the pool reports, for metrics (all optional).
struct NewConversationPoolEvents {
  std::function<void(bool hit)> taken{};  ///< a new conversation asked: served from the pool, or not
  std::function<void(std::size_t pooled)> size_changed{};
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
  /// starting; nullopt when there is none (the caller starts cold). Marks the language in use
  /// and asks for a refill.
  std::optional<sandbox::Workspace> take(const std::string& language);

  /// A directory take() gave that could not be bound: removed, container and all.
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
  bool m_refill_wanted = false;
  std::thread m_thread;
};

}  // namespace runner
