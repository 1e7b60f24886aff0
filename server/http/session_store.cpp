#include "http/session_store.hpp"

#include <utility>

namespace http {

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

SessionStore::SessionStore(std::size_t max_sessions, std::chrono::seconds idle_timeout, Clock clock)
    : m_max_sessions(max_sessions), m_idle_timeout(idle_timeout), m_clock(std::move(clock)) {}

bool SessionStore::add(std::shared_ptr<mcp::Session> session, SessionTransport transport,
                       std::shared_ptr<SseQueue> events) {
  const std::scoped_lock lock(m_mutex);
  drop_expired_locked();
  if (m_closed || m_entries.size() >= m_max_sessions) return false;
  std::string id = session->id();
  m_entries.insert_or_assign(std::move(id), Entry{std::move(session), transport, std::move(events), m_clock(), 0});
  return true;
}

std::optional<SessionStore::Lease> SessionStore::acquire(const std::string& id, SessionTransport transport) {
  const std::scoped_lock lock(m_mutex);
  drop_expired_locked();
  const auto it = m_entries.find(id);
  if (it == m_entries.end() || it->second.transport != transport) return std::nullopt;
  ++it->second.leases;
  it->second.last_used = m_clock();
  return std::optional<Lease>(std::in_place, *this, id, it->second.session, it->second.events);
}

bool SessionStore::remove(const std::string& id, SessionTransport transport) {
  Entry removed;
  {
    const std::scoped_lock lock(m_mutex);
    const auto it = m_entries.find(id);
    if (it == m_entries.end() || it->second.transport != transport) return false;
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
  const std::scoped_lock lock(m_mutex);
  drop_expired_locked();
  return m_entries.size();
}

void SessionStore::release(const std::string& id) {
  const std::scoped_lock lock(m_mutex);
  const auto it = m_entries.find(id);
  if (it == m_entries.end()) return;
  --it->second.leases;
  // Idle time counts from the end of the last request, not its start: a 30 s run is not idleness.
  it->second.last_used = m_clock();
}

void SessionStore::drop_expired_locked() {
  const auto now = m_clock();
  for (auto it = m_entries.begin(); it != m_entries.end();) {
    Entry& entry = it->second;
    const bool expired = entry.transport == SessionTransport::streamable_http && entry.leases == 0 &&
                         now - entry.last_used >= m_idle_timeout;
    if (expired) {
      end(entry);  // cheap (flags and notifies), so fine under the lock
      it = m_entries.erase(it);
    } else {
      ++it;
    }
  }
}

void SessionStore::end(Entry& entry) {
  if (entry.session) entry.session->close();
  if (entry.events) entry.events->close();
}

}  // namespace http
