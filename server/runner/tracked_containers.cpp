#include "runner/tracked_containers.hpp"

#include <utility>

namespace runner {

TrackedContainers::Ticket::Ticket(TrackedContainers& owner, std::string run_id)
    : m_owner(&owner), m_run_id(std::move(run_id)) {}

TrackedContainers::Ticket::Ticket(Ticket&& other) noexcept
    : m_owner(std::exchange(other.m_owner, nullptr)), m_run_id(std::move(other.m_run_id)) {}

TrackedContainers::Ticket& TrackedContainers::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    m_owner = std::exchange(other.m_owner, nullptr);
    m_run_id = std::move(other.m_run_id);
  }
  return *this;
}

TrackedContainers::Ticket::~Ticket() { release(); }

void TrackedContainers::Ticket::release() {
  if (m_owner != nullptr) m_owner->forget(m_run_id);
  m_owner = nullptr;
}

TrackedContainers::Ticket TrackedContainers::track(std::string run_id) {
  std::lock_guard lock(m_mutex);
  m_run_ids.insert(run_id);
  return Ticket(*this, std::move(run_id));
}

bool TrackedContainers::contains(const std::string& run_id) const {
  std::lock_guard lock(m_mutex);
  return m_run_ids.count(run_id) > 0;
}

std::size_t TrackedContainers::size() const {
  std::lock_guard lock(m_mutex);
  return m_run_ids.size();
}

void TrackedContainers::forget(const std::string& run_id) {
  std::lock_guard lock(m_mutex);
  if (auto found = m_run_ids.find(run_id); found != m_run_ids.end()) m_run_ids.erase(found);
}

}  // namespace runner
