#include "sandbox/claims.hpp"

namespace sandbox {

void Claims::claim(const std::string& name) {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] {
    const auto found = m_entries.find(name);
    return found == m_entries.end() || !found->second.claimed;
  });
  m_entries[name].claimed = true;
}

bool Claims::try_claim_idle(const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto& entry = m_entries[name];
  if (entry.claimed || entry.holders > 0) return false;
  entry.claimed = true;
  return true;
}

void Claims::finish(const std::string& name, bool add_holder) {
  std::lock_guard lock(m_mutex);
  auto& entry = m_entries[name];
  entry.claimed = false;
  if (add_holder) ++entry.holders;
  if (entry.holders == 0) m_entries.erase(name);
  m_changed.notify_all();
}

void Claims::release(const std::string& name) {
  std::lock_guard lock(m_mutex);
  auto& entry = m_entries[name];
  if (--entry.holders <= 0 && !entry.claimed) m_entries.erase(name);
  m_changed.notify_all();
}

}  // namespace sandbox
