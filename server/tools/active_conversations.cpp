#include "tools/active_conversations.hpp"

#include <algorithm>

namespace tools {

ActiveConversations::ActiveConversations(std::size_t capacity) : m_capacity(std::max<std::size_t>(1, capacity)) {}

void ActiveConversations::touch(const std::string& key, const std::string& id) {
  const std::scoped_lock lock(m_mutex);
  if (const auto it = m_entries.find(key); it != m_entries.end()) {
    m_order.splice(m_order.begin(), m_order, it->second.position);
    it->second.id = id;
    return;
  }
  m_order.push_front(key);
  m_entries.emplace(key, Entry{id, m_order.begin()});
  if (m_entries.size() > m_capacity) {
    m_entries.erase(m_order.back());
    m_order.pop_back();
  }
}

std::optional<std::string> ActiveConversations::id_for(const std::string& key) const {
  const std::scoped_lock lock(m_mutex);
  const auto it = m_entries.find(key);
  if (it == m_entries.end()) return std::nullopt;
  return it->second.id;
}

std::size_t ActiveConversations::size() const {
  const std::scoped_lock lock(m_mutex);
  return m_entries.size();
}

}  // namespace tools
