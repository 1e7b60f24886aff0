#include "runner/new_conversation_pool.hpp"

#include <spdlog/spdlog.h>

namespace runner {

using Clock = std::chrono::steady_clock;

NewConversationPool::NewConversationPool(Executor& executor, const sandbox::Workspaces& workspaces,
                                         NewConversationPoolOptions options, NewConversationPoolEvents events)
    : m_executor(executor), m_workspaces(workspaces), m_options(std::move(options)), m_events(std::move(events)) {
  if (m_options.per_language > 0 && m_options.check_interval.count() > 0) m_thread = std::thread([this] { loop(); });
}

NewConversationPool::~NewConversationPool() { shutdown(); }

std::optional<sandbox::Workspace> NewConversationPool::take(const std::string& language) {
  if (m_options.per_language == 0) return std::nullopt;
  auto taken = take_from(language, false);
  if (m_events.taken) m_events.taken(taken.has_value());
  return taken;
}

std::optional<sandbox::Workspace> NewConversationPool::lend(const std::string& language) {
  if (m_options.per_language == 0) return std::nullopt;
  auto lent = take_from(language, true);
  if (lent && m_events.lent) m_events.lent();
  return lent;
}

std::optional<sandbox::Workspace> NewConversationPool::take_from(const std::string& language, bool started_only) {
  const auto name = m_executor.language_name(language);
  if (!name) return std::nullopt;
  std::optional<sandbox::Workspace> taken;
  std::vector<Pooled> broken;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return std::nullopt;
    // New conversations are what keeps a language's pool: a lend only uses what they keep.
    if (!started_only) {
      m_used[*name] = Clock::now();
      m_refill_wanted = true;
    }
    auto found = m_pooled.find(*name);
    if (found == m_pooled.end()) return std::nullopt;
    auto& queue = found->second;
    for (auto it = queue.begin(); it != queue.end() && !taken;) {
      const auto& directory = it->workspace.name;
      // Its container may have gone (image rebuilt, evicted by WARM_MAX): then it is no use.
      if (!m_executor.warm_holds(directory)) {
        broken.push_back(std::move(*it));
        it = queue.erase(it);
      } else if (started_only && !m_executor.warm_ready(directory)) {
        ++it;  // still starting: left for a new conversation, which waits for it gladly
      } else {
        taken = std::move(it->workspace);
        it = queue.erase(it);
      }
    }
    m_refill_wanted = m_refill_wanted || taken || !broken.empty();
  }
  remove(std::move(broken), discard_reason::kDead);
  report_size();
  return taken;
}

void NewConversationPool::run_ended() {
  {
    std::lock_guard lock(m_mutex);
    if (!m_refill_wanted) return;
    m_refill_now = true;
  }
  m_wake.notify_one();
}

void NewConversationPool::give_up(const sandbox::Workspace& workspace) {
  remove({Pooled{workspace, Clock::now()}}, discard_reason::kReplaced);
}

void NewConversationPool::tick(Clock::time_point now) {
  std::vector<Pooled> expired;
  std::vector<std::string> wanted;  // one language per missing container
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping) return;
    for (auto it = m_used.begin(); it != m_used.end();) {
      if (now - it->second >= m_options.idle_lifetime) {
        // Nobody started a conversation in this language for a while: no pool for it.
        for (auto& entry : m_pooled[it->first]) expired.push_back(std::move(entry));
        m_pooled.erase(it->first);
        it = m_used.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [language, queue] : m_pooled) {
      for (auto it = queue.begin(); it != queue.end();) {
        if (now - it->made >= m_options.idle_lifetime || !m_executor.warm_holds(it->workspace.name)) {
          expired.push_back(std::move(*it));
          it = queue.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (const auto& [language, last] : m_used) {
      const auto have = m_pooled[language].size();
      for (auto n = have; n < m_options.per_language; ++n) wanted.push_back(language);
    }
    m_refill_wanted = false;
  }
  remove(std::move(expired), discard_reason::kUnused);
  // Made outside the lock: a directory (and its volume) takes a few milliseconds, a start is queued.
  for (const auto& language : wanted) {
    // Checked before making a directory: with WARM_MAX taken, a tick every second would otherwise
    // make and remove one each time.
    if (!m_executor.warm_room_for_new()) break;
    auto workspace = m_workspaces.open_unbound();
    if (!workspace) {
      spdlog::warn("new-conversation pool: cannot make a directory: {}", workspace.error().message);
      break;
    }
    if (!m_executor.prewarm_new(*workspace, language)) {
      m_workspaces.discard(*workspace);  // warm containers off, the language gone, or WARM_MAX full of starts
      break;
    }
    std::unique_lock lock(m_mutex);
    if (m_stopping) {
      lock.unlock();
      remove({Pooled{*workspace, now}}, discard_reason::kShutdown);
      return;
    }
    m_pooled[language].push_back(Pooled{std::move(*workspace), Clock::now()});
  }
  report_size();
}

void NewConversationPool::loop() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    // Woken by run_ended() (a refill wanted now) or after check_interval (expiry, a missed refill).
    m_wake.wait_for(lock, m_options.check_interval, [this] { return m_stopping || m_refill_now; });
    if (m_stopping) break;
    m_refill_now = false;
    lock.unlock();
    tick(Clock::now());
    lock.lock();
  }
}

void NewConversationPool::shutdown() {
  std::vector<Pooled> all;
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    for (auto& [language, queue] : m_pooled) {
      for (auto& entry : queue) all.push_back(std::move(entry));
    }
    m_pooled.clear();
  }
  m_wake.notify_all();
  if (m_thread.joinable()) m_thread.join();
  remove(std::move(all), discard_reason::kShutdown);
  report_size();
}

std::size_t NewConversationPool::size() const {
  std::lock_guard lock(m_mutex);
  std::size_t total = 0;
  for (const auto& [language, queue] : m_pooled) total += queue.size();
  return total;
}

void NewConversationPool::remove(std::vector<Pooled> entries, std::string_view reason) {
  for (auto& entry : entries) {
    // The container first: its bind mount of the directory goes with it.
    m_executor.warm_drop(entry.workspace.name, reason);
    m_workspaces.discard(entry.workspace);
  }
}

void NewConversationPool::report_size() {
  if (m_events.size_changed) m_events.size_changed(size());
}

}  // namespace runner
