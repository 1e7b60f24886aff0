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

void WarmPool::prepare(const std::string& conversation, const std::string& language, const std::string& image_ref,
                       Starter start) {
  std::vector<Entry> removed;
  std::vector<Entry> evicted;
  std::function<void()> job;
  {
    std::lock_guard lock(m_mutex);
    if (m_stopping || m_options.max_idle == 0) return;
    remember_language(conversation, language);
    if (m_starting.contains(conversation)) return;
    if (auto it = m_ready.find(conversation); it != m_ready.end()) {
      if (it->second.language == language) return;
      removed.push_back(std::move(it->second));
      m_ready.erase(it);
    }
    if (m_ready.size() + m_starting.size() >= m_options.max_idle) {
      // Full: the container idle the longest makes room; if every slot is
      // still starting, this conversation goes without.
      auto oldest = std::min_element(m_ready.begin(), m_ready.end(), [](const auto& a, const auto& b) {
        return a.second.ready_at < b.second.ready_at;
      });
      if (oldest == m_ready.end()) return;
      evicted.push_back(std::move(oldest->second));
      m_ready.erase(oldest);
    }
    m_starting.insert(conversation);
    job = [this, conversation, language, image_ref, start = std::move(start)] {
      run_start_job(conversation, language, image_ref, start);
    };
    if (!m_options.scheduler) {
      m_jobs.emplace_back(conversation, std::move(job));
      job = nullptr;
      m_wake.notify_one();
    }
  }
  discard(std::move(removed), discard_reason::kReplaced);
  discard(std::move(evicted), discard_reason::kEvicted);
  if (job) m_options.scheduler(std::move(job));
}

void WarmPool::run_start_job(const std::string& conversation, const std::string& language,
                             const std::string& image_ref, const Starter& start) {
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
      m_ready[conversation] = Entry{language, image_ref, std::move(*started), Clock::now()};
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
  // Two cheap engine reads: the tag still names the image the container was
  // made from (no rebuild since: read now, never from memory), and the bootstrap is still waiting.
  auto image = m_images.current(entry->image_ref, std::chrono::milliseconds(0));
  if (!image || *image != entry->container.image_id) return miss(discard_reason::kImageChanged);
  auto state = m_engine.inspect_container(entry->container.id);
  if (!state || !state->running) return miss(discard_reason::kDead);
  if (m_events.claimed) m_events.claimed(true);
  return std::move(entry->container);
}

bool WarmPool::full() const {
  std::lock_guard lock(m_mutex);
  return m_ready.size() + m_starting.size() >= m_options.max_idle;
}

bool WarmPool::holds(const std::string& conversation) const {
  std::lock_guard lock(m_mutex);
  return m_ready.contains(conversation) || m_starting.contains(conversation);
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
      m_wake.notify_one();
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
    m_wake.wait_until(lock, m_next_sweep, [this] { return m_stopping || !m_jobs.empty() || !m_retired.empty(); });
    if (m_stopping) break;
    // A start first: a follow-up may be about to claim it; removals can wait a moment.
    if (!m_jobs.empty()) {
      auto [conversation, job] = std::move(m_jobs.front());
      m_jobs.pop_front();
      m_running_jobs.insert(conversation);
      lock.unlock();
      job();
      lock.lock();
    }
    if (!m_retired.empty()) {
      lock.unlock();
      remove_retired();
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

void WarmPool::shutdown() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    m_jobs.clear();
  }
  m_wake.notify_all();
  for (auto& worker : m_workers) {
    if (worker.joinable()) worker.join();
  }
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
