#include "runner/run_drain.hpp"

namespace runner {

RunDrain::Pass::~Pass() {
  if (m_owner == nullptr) return;
  const std::lock_guard lock(m_owner->m_mutex);
  if (--m_owner->m_in_flight == 0) m_owner->m_idle.notify_all();
}

std::optional<RunDrain::Pass> RunDrain::enter() {
  const std::lock_guard lock(m_mutex);
  if (m_closed) return std::nullopt;
  ++m_in_flight;
  return std::optional<Pass>(std::in_place, *this);
}

void RunDrain::close() {
  const std::lock_guard lock(m_mutex);
  m_closed = true;
}

bool RunDrain::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(m_mutex);
  return m_idle.wait_until(lock, deadline, [this] { return m_in_flight == 0; });
}

std::size_t RunDrain::in_flight() const {
  const std::lock_guard lock(m_mutex);
  return m_in_flight;
}

}  // namespace runner
