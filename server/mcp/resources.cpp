#include "mcp/resources.hpp"

#include <map>
#include <mutex>
#include <utility>

namespace mcp {

std::vector<json> resource_notifications(const ResourceChange& change, const ResourceFilter& filter) {
  std::vector<json> notifications;
  std::set<std::string> sent;  // one notification per URI, however often the change names it
  for (const auto& uri : change.updated) {
    if (filter.uris.contains(uri) && sent.insert(uri).second) {
      notifications.push_back(make_notification("notifications/resources/updated", json{{"uri", uri}}));
    }
  }
  // A caller's list is theirs alone: another identity's run says nothing about it.
  if (change.list_changed && filter.list_changed && !filter.caller.empty() && filter.caller == change.caller) {
    notifications.push_back(make_notification("notifications/resources/list_changed", json::object()));
  }
  return notifications;
}

// The listeners, shared with every Subscription so that one outliving the hub stays harmless.
struct ResourceEvents::Subscription::State {
  // Held while listeners run, so that a subscription's destructor waits for a call in progress.
  std::mutex mutex;
  std::map<std::uint64_t, Listener> listeners;
  std::uint64_t next_id = 1;
};

ResourceEvents::Subscription::~Subscription() { reset(); }

ResourceEvents::Subscription::Subscription(Subscription&& other) noexcept
    : m_state(std::move(other.m_state)), m_id(std::exchange(other.m_id, 0)) {}

ResourceEvents::Subscription& ResourceEvents::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    m_state = std::move(other.m_state);
    m_id = std::exchange(other.m_id, 0);
  }
  return *this;
}

void ResourceEvents::Subscription::reset() {
  if (!m_state) return;
  const std::scoped_lock lock(m_state->mutex);
  m_state->listeners.erase(m_id);
  m_state.reset();
}

ResourceEvents::ResourceEvents() : m_state(std::make_shared<Subscription::State>()) {}

ResourceEvents::Subscription ResourceEvents::subscribe(Listener listener) {
  const std::scoped_lock lock(m_state->mutex);
  const auto id = m_state->next_id++;
  m_state->listeners.emplace(id, std::move(listener));
  return Subscription(m_state, id);
}

void ResourceEvents::publish(const ResourceChange& change) {
  if (change.updated.empty() && !change.list_changed) return;
  const std::scoped_lock lock(m_state->mutex);
  for (const auto& [id, listener] : m_state->listeners) listener(change);
}

std::size_t ResourceEvents::size() const {
  const std::scoped_lock lock(m_state->mutex);
  return m_state->listeners.size();
}

}  // namespace mcp
