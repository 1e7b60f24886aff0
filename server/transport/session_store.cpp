#include "transport/session_store.hpp"

#include <algorithm>
#include <utility>
#include <vector>

namespace transport {

SessionStore::Lease::Lease(SessionStore& store, std::string id, std::shared_ptr<mcp::Session> session,
                           std::shared_ptr<SseQueue> events)
    : m_store(&store), m_id(std::move(id)), m_session(std::move(session)), m_events(std::move(events)) {}

SessionStore::Lease::Lease(Lease&& other) noexcept
    : m_store(std::exchange(other.m_store, nullptr)),
      m_id(std::move(other.m_id)),
      m_session(std::move(other.m_session)),
      m_events(std::move(other.m_events)) {}

SessionStore::Lease::~Lease() {
  if (m_store != nullptr) m_store->release(m_id);
}

SessionStore::SessionStore(std::size_t max_sessions, std::size_t max_streams, std::chrono::seconds idle_timeout,
                           Clock clock)
    : m_max_sessions(max_sessions),
      m_max_streams(max_streams),
      m_idle_timeout(idle_timeout),
      m_clock(std::move(clock)) {}

namespace {

// Three quarters of a cap, at least one.
std::size_t owner_share(std::size_t cap) { return std::max<std::size_t>(1, cap - cap / 4); }

}  // namespace

bool SessionStore::add(std::shared_ptr<mcp::Session> session, SessionTransport transport,
                       std::shared_ptr<SseQueue> events, std::string owner) {
  std::vector<Entry> expired;
  bool added = false;
  {
    const std::scoped_lock lock(m_mutex);
    expired = take_expired_locked();
    const auto streams = static_cast<std::size_t>(
        std::count_if(m_entries.begin(), m_entries.end(), [](const auto& item) { return streaming(item.second); }));
    std::size_t owned = 0;
    std::size_t owned_streams = 0;
    for (const auto& [id, entry] : m_entries) {
      if (entry.owner != owner) continue;
      ++owned;
      owned_streams += streaming(entry) ? 1 : 0;
    }
    const bool stream = transport == SessionTransport::legacy_sse;
    const bool room = m_entries.size() < m_max_sessions && owned < owner_share(m_max_sessions) &&
                      (!stream || (streams < m_max_streams && owned_streams < owner_share(m_max_streams)));
    if (!m_closed && room) {
      std::string id = session->id();
      m_entries.insert_or_assign(std::move(id), Entry{std::move(session), transport, std::move(events), m_clock(), 0,
                                                      std::move(owner)});
      added = true;
    }
  }
  for (auto& entry : expired) end(entry);
  return added;
}

std::optional<SessionStore::Lease> SessionStore::acquire(const std::string& id, SessionTransport transport,
                                                          const std::string& owner) {
  std::vector<Entry> expired;
  std::optional<Lease> lease;
  {
    const std::scoped_lock lock(m_mutex);
    expired = take_expired_locked();
    const auto it = m_entries.find(id);
    if (it != m_entries.end() && it->second.transport == transport && it->second.owner == owner) {
      ++it->second.leases;
      it->second.last_used = m_clock();
      lease.emplace(*this, id, it->second.session, it->second.events);
    }
  }
  for (auto& entry : expired) end(entry);
  return lease;
}

SessionStore::Attach SessionStore::attach_stream(const std::string& id, const std::string& owner,
                                                 std::shared_ptr<SseQueue> events) {
  std::vector<Entry> expired;
  Attach outcome = Attach::not_found;
  {
    const std::scoped_lock lock(m_mutex);
    expired = take_expired_locked();
    const auto it = m_entries.find(id);
    if (it != m_entries.end() && it->second.transport == SessionTransport::streamable_http &&
        it->second.owner == owner && !m_closed) {
      std::size_t streams = 0;
      std::size_t owned_streams = 0;
      for (const auto& [other_id, entry] : m_entries) {
        if (!streaming(entry)) continue;
        ++streams;
        owned_streams += entry.owner == owner ? 1 : 0;
      }
      if (streaming(it->second)) {
        outcome = Attach::busy;
      } else if (streams >= m_max_streams || owned_streams >= owner_share(m_max_streams)) {
        outcome = Attach::full;
      } else {
        it->second.events = std::move(events);
        it->second.last_used = m_clock();
        outcome = Attach::attached;
      }
    }
  }
  for (auto& entry : expired) end(entry);
  return outcome;
}

bool SessionStore::streaming(const Entry& entry) {
  return entry.transport == SessionTransport::legacy_sse || (entry.events && !entry.events->closed());
}

bool SessionStore::remove(const std::string& id, SessionTransport transport, const std::string* owner) {
  Entry removed;
  {
    const std::scoped_lock lock(m_mutex);
    const auto it = m_entries.find(id);
    if (it == m_entries.end() || it->second.transport != transport) return false;
    if (owner != nullptr && it->second.owner != *owner) return false;
    removed = std::move(it->second);
    m_entries.erase(it);
  }
  end(removed);
  return true;
}

void SessionStore::close_all() {
  std::map<std::string, Entry> removed;
  {
    const std::scoped_lock lock(m_mutex);
    m_closed = true;
    removed.swap(m_entries);
  }
  for (auto& [id, entry] : removed) end(entry);
}

std::size_t SessionStore::size() {
  std::vector<Entry> expired;
  std::size_t count = 0;
  {
    const std::scoped_lock lock(m_mutex);
    expired = take_expired_locked();
    count = m_entries.size();
  }
  for (auto& entry : expired) end(entry);
  return count;
}

void SessionStore::release(const std::string& id) {
  const std::scoped_lock lock(m_mutex);
  const auto it = m_entries.find(id);
  if (it == m_entries.end()) return;
  --it->second.leases;
  // Idle time counts from the end of the last request, not its start: a 30 s run is not idleness.
  it->second.last_used = m_clock();
}

std::vector<SessionStore::Entry> SessionStore::take_expired_locked() {
  std::vector<Entry> expired;
  const auto now = m_clock();
  for (auto it = m_entries.begin(); it != m_entries.end();) {
    Entry& entry = it->second;
    // A session with an open stream is in use, however long ago its last request was.
    if (entry.transport == SessionTransport::streamable_http && entry.leases == 0 && !streaming(entry) &&
        now - entry.last_used >= m_idle_timeout) {
      expired.push_back(std::move(entry));
      it = m_entries.erase(it);
    } else {
      ++it;
    }
  }
  return expired;
}

// Outside the lock: closing a session runs the stop callbacks of its running calls.
void SessionStore::end(Entry& entry) {
  if (entry.session) entry.session->close();
  if (entry.events) entry.events->close();
}

}  // namespace transport
