#include "runner/warm_pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace runner {
namespace {

using Clock = std::chrono::steady_clock;

// Conversations whose last language is remembered; beyond it the memory is
// dropped (a miss costs one cold start, never correctness).
constexpr std::size_t kRememberedConversations = 10000;
// A claim waits at most this long for its container's start under way (a start takes ~0.1-0.3 s).
constexpr std::chrono::seconds kWaitForStart{5};

}  // namespace

WarmPool::WarmPool(docker::Engine& engine, WarmPoolOptions options, WarmPoolEvents events)
    : m_engine(engine), m_options(std::move(options)), m_events(std::move(events)) {
  if (!m_options.scheduler) {
    m_next_sweep = Clock::now() + m_options.sweep_interval;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, m_options.workers); ++i) {
      m_workers.emplace_back([this] { worker(); });
    }
    m_remover = std::thread([this] { remover(); });
  }
}

WarmPool::~WarmPool() { shutdown(); }

void WarmPool::remember_language(const std::string& conversation, const std::string& language) {
  if (m_last_language.size() >= kRememberedConversations && !m_last_language.contains(conversation)) {
    m_last_language.clear();
  }
  m_last_language[conversation] = language;
}

std::optional<std::string> WarmPool::last_language(const std::string& conversation) const {
  std::lock_guard lock(m_mutex);
  if (auto it = m_last_language.find(conversation); it != m_last_language.end()) return it->second;
  return std::nullopt;
}

std::map<std::string, WarmPool::Entry>::iterator WarmPool::eviction_victim(WarmFor purpose) {
  auto oldest_of = [this](WarmFor wanted) {
    auto oldest = m_ready.end();
    for (auto it = m_ready.begin(); it != m_ready.end(); ++it) {
      if (it->second.purpose == wanted && (oldest == m_ready.end() || it->second.ready_at < oldest->second.ready_at)) {
        oldest = it;
      }
    }
    return oldest;
  };
  if (purpose == WarmFor::successor) {
    auto victim = oldest_of(WarmFor::successor);
    return victim != m_ready.end() ? victim : oldest_of(WarmFor::new_conversation);
  }
  // New conversations' containers make room only up to half of the bound, and only by evicting a
  // successor: they never evict each other, and a small WARM_MAX keeps room for successors.
  std::size_t for_new = 0;
  for (const auto& [conversation, entry] : m_ready) for_new += entry.purpose == WarmFor::new_conversation;
  for (const auto& [conversation, starting_for] : m_starting) for_new += starting_for == WarmFor::new_conversation;
  if (2 * (for_new + 1) > m_options.max_idle) return m_ready.end();
  return oldest_of(WarmFor::successor);
}

bool WarmPool::prepare(const std::string& conversation, const std::string& language, const std::string& image_ref,
                       Starter start, WarmFor purpose) {
  std::vector<Entry> removed;
  std::vector<Entry> evicted;
  std::function<void()> job;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping || m_options.max_idle == 0) return false;
    remember_language(conversation, language);
    if (m_starting.contains(conversation)) return true;
    if (auto it = m_ready.find(conversation); it != m_ready.end()) {
      if (it->second.language == language) return true;
      removed.push_back(std::move(it->second));
      m_ready.erase(it);
    }
    if (m_ready.size() + m_starting.size() >= m_options.max_idle) {
      // Full: the container idle the longest makes room (eviction_victim); if none may, this
      // conversation goes without.
      if (auto victim = eviction_victim(purpose); victim != m_ready.end()) {
        evicted.push_back(std::move(victim->second));
        m_ready.erase(victim);
      }
    }
    if (m_ready.size() + m_starting.size() < m_options.max_idle) {
      m_starting.emplace(conversation, purpose);
      job = [this, conversation, language, image_ref, purpose, start = std::move(start)] {
        run_start_job(conversation, language, image_ref, start, purpose);
      };
      if (!m_options.scheduler) {
        // A successor goes before new conversations' containers: its conversation's next call may
        // come right after the answer now on its way, while the next new conversation is a guess.
        if (purpose == WarmFor::successor) {
          const auto first_pooled = std::find_if(m_jobs.begin(), m_jobs.end(), [this](const auto& queued) {
            const auto it = m_starting.find(queued.first);
            return it != m_starting.end() && it->second == WarmFor::new_conversation;
          });
          m_jobs.emplace(first_pooled, conversation, std::move(job));
        } else {
          m_jobs.emplace_back(conversation, std::move(job));
        }
        job = nullptr;
        m_wake.notify_one();
      }
    }
  }
  discard(std::move(removed), discard_reason::kReplaced);
  discard(std::move(evicted), discard_reason::kEvicted);
  if (job) m_options.scheduler(std::move(job));
  return holds(conversation);
}

bool WarmPool::has_room(WarmFor purpose) {
  std::lock_guard lock(m_mutex);
  if (m_stopping || m_options.max_idle == 0) return false;
  return m_ready.size() + m_starting.size() < m_options.max_idle || eviction_victim(purpose) != m_ready.end();
}

void WarmPool::run_start_job(const std::string& conversation, const std::string& language,
                             const std::string& image_ref, const Starter& start, WarmFor purpose) {
  auto started = start();
  std::optional<Entry> replaced;
  bool stopping = false;
  {
    std::lock_guard lock(m_mutex);
    m_starting.erase(conversation);
    m_running_jobs.erase(conversation);
    stopping = m_stopping;
    if (started && !stopping) {
      if (auto it = m_ready.find(conversation); it != m_ready.end()) replaced = std::move(it->second);
      m_ready[conversation] = Entry{language, image_ref, std::move(*started), Clock::now(), purpose};
    }
  }
  m_job_done.notify_all();
  if (!started) {
    spdlog::warn("warm {} container for a conversation not started: {}", language, started.error().message);
    if (m_events.discarded) m_events.discarded(discard_reason::kStartFailed);
    return;
  }
  if (stopping) {
    discard(Entry{language, image_ref, std::move(*started), Clock::now()}, discard_reason::kShutdown);
    return;
  }
  if (replaced) discard(std::move(*replaced), discard_reason::kReplaced);
  report_idle();
}

std::optional<StartedContainer> WarmPool::claim(const std::string& conversation, const std::string& language,
                                                const std::string& fingerprint) {
  std::optional<Entry> entry;
  {
    std::unique_lock lock(m_mutex);
    remember_language(conversation, language);
    if (m_starting.contains(conversation)) {
      auto queued = std::find_if(m_jobs.begin(), m_jobs.end(), [&](const auto& job) { return job.first == conversation; });
      if (queued != m_jobs.end()) {
        m_jobs.erase(queued);
        m_starting.erase(conversation);
      } else {
        m_job_done.wait_for(lock, kWaitForStart, [&] { return !m_running_jobs.contains(conversation); });
      }
    }
    if (auto it = m_ready.find(conversation); it != m_ready.end()) {
      entry = std::move(it->second);
      m_ready.erase(it);
    }
  }
  auto miss = [&](std::string_view reason) -> std::optional<StartedContainer> {
    if (entry) discard(std::move(*entry), reason);
    if (m_events.claimed) m_events.claimed(false);
    return std::nullopt;
  };
  if (!entry) return miss({});
  report_idle();
  if (entry->language != language) return miss(discard_reason::kLanguageChanged);
  if (entry->container.fingerprint != fingerprint) return miss(discard_reason::kSpecChanged);
  // The bootstrap is still waiting: its attach stream is open and silent (no engine call; a
  // container that exited or was removed has its stream closed by the engine). Then one cheap
  // engine read: the tag still names the image the container was made from (no rebuild since:
  // read now, never from memory).
  if (!entry->container.attachment || !entry->container.attachment->silent()) return miss(discard_reason::kDead);
  auto image = m_images.current(entry->image_ref, std::chrono::milliseconds(0));
  if (!image || *image != entry->container.image_id) return miss(discard_reason::kImageChanged);
  if (m_events.claimed) m_events.claimed(true);
  return std::move(entry->container);
}

bool WarmPool::holds(const std::string& conversation) const {
  std::lock_guard lock(m_mutex);
  return m_ready.contains(conversation) || m_starting.contains(conversation);
}

bool WarmPool::ready(const std::string& conversation) const {
  std::lock_guard lock(m_mutex);
  return m_ready.contains(conversation);
}

void WarmPool::drop(const std::string& conversation, std::string_view reason) {
  std::optional<Entry> entry;
  {
    std::unique_lock lock(m_mutex);
    auto queued = std::find_if(m_jobs.begin(), m_jobs.end(), [&](const auto& job) { return job.first == conversation; });
    if (queued != m_jobs.end()) {
      m_jobs.erase(queued);
      m_starting.erase(conversation);
    }
    m_job_done.wait_for(lock, kWaitForStart, [&] { return !m_running_jobs.contains(conversation); });
    if (auto it = m_ready.find(conversation); it != m_ready.end()) {
      entry = std::move(it->second);
      m_ready.erase(it);
    }
  }
  if (!entry) return;
  discard(std::move(*entry), reason);
  report_idle();
}

void WarmPool::retire(StartedContainer container) {
  {
    std::lock_guard lock(m_mutex);
    if (!m_options.scheduler && !m_stopping) {
      m_retired.push_back(std::move(container));
      m_retired_added.notify_one();
      return;
    }
  }
  remove_run_container(m_engine, container);
}

void WarmPool::remove_retired() {
  std::vector<StartedContainer> retired;
  {
    std::lock_guard lock(m_mutex);
    retired.swap(m_retired);
  }
  for (auto& container : retired) remove_run_container(m_engine, container);
}

void WarmPool::sweep(Clock::time_point now) {
  std::vector<Entry> idle;
  std::set<std::string> image_refs;
  {
    std::lock_guard lock(m_mutex);
    for (auto it = m_ready.begin(); it != m_ready.end();) {
      if (now - it->second.ready_at >= m_options.idle_timeout) {
        idle.push_back(std::move(it->second));
        it = m_ready.erase(it);
      } else {
        image_refs.insert(it->second.image_ref);
        ++it;
      }
    }
  }
  discard(std::move(idle), discard_reason::kIdle);

  // One image read per runner in use (none when a run read it since the last sweep): a rebuilt
  // image moves its tag.
  std::map<std::string, std::string> current_ids;
  for (const auto& ref : image_refs) {
    auto image = m_images.current(ref, m_options.sweep_interval);
    current_ids[ref] = image ? *image : std::string();
  }
  std::vector<Entry> outdated;
  {
    std::lock_guard lock(m_mutex);
    for (auto it = m_ready.begin(); it != m_ready.end();) {
      auto current = current_ids.find(it->second.image_ref);
      if (current != current_ids.end() && current->second != it->second.container.image_id) {
        outdated.push_back(std::move(it->second));
        it = m_ready.erase(it);
      } else {
        ++it;
      }
    }
  }
  discard(std::move(outdated), discard_reason::kImageChanged);
}

core::Result<std::string> WarmPool::image_for_start(const std::string& image_ref) {
  return m_images.current(image_ref, m_options.sweep_interval);
}

void WarmPool::worker() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_wake.wait_until(lock, m_next_sweep, [this] { return m_stopping || !m_jobs.empty(); });
    if (m_stopping) break;
    if (!m_jobs.empty()) {
      auto [conversation, job] = std::move(m_jobs.front());
      m_jobs.pop_front();
      m_running_jobs.insert(conversation);
      lock.unlock();
      job();
      lock.lock();
    }
    if (Clock::now() >= m_next_sweep) {
      m_next_sweep = Clock::now() + m_options.sweep_interval;  // one worker sweeps
      lock.unlock();
      sweep(Clock::now());
      lock.lock();
    }
  }
}

// Removals have their own thread: a used container is removed while it is still ending (its run
// answered at the program's end lines), which takes the engine ~0.1 s, and a start must not queue
// behind that.
void WarmPool::remover() {
  std::unique_lock lock(m_mutex);
  while (!m_stopping) {
    m_retired_added.wait(lock, [this] { return m_stopping || !m_retired.empty(); });
    lock.unlock();
    remove_retired();
    lock.lock();
  }
}

void WarmPool::shutdown() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_jobs.clear();
  }
  m_wake.notify_all();
  m_retired_added.notify_all();
  for (auto& worker : m_workers) {
    if (worker.joinable()) worker.join();
  }
  if (m_remover.joinable()) m_remover.join();
  m_job_done.notify_all();
  remove_retired();
  std::vector<Entry> all;
  {
    std::lock_guard lock(m_mutex);
    for (auto& [conversation, entry] : m_ready) all.push_back(std::move(entry));
    m_ready.clear();
  }
  discard(std::move(all), discard_reason::kShutdown);
}

std::size_t WarmPool::idle() const {
  std::lock_guard lock(m_mutex);
  return m_ready.size();
}

void WarmPool::discard(Entry entry, std::string_view reason) {
  remove_run_container(m_engine, entry.container);
  if (m_events.discarded) m_events.discarded(reason);
}

void WarmPool::discard(std::vector<Entry> entries, std::string_view reason) {
  if (entries.empty()) return;
  for (auto& entry : entries) discard(std::move(entry), reason);
  report_idle();
}

void WarmPool::report_idle() {
  if (m_events.idle_changed) m_events.idle_changed(idle());
}

}  // namespace runner
