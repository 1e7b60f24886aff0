#include "runner/admission.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

namespace runner {

// --- AdmissionQueue -----------------------------------------------------------------------------

AdmissionQueue::AdmissionQueue(AdmissionLimits limits) : m_limits(limits) {
  m_limits.max_running = std::max<std::size_t>(m_limits.max_running, 1);
}

std::optional<AdmissionQueue::Ticket> AdmissionQueue::enter(const std::string& conversation, Clock::time_point now) {
  const bool can_run_now = m_running < m_limits.max_running && !conversation_running(conversation) &&
                           std::none_of(m_entries.begin(), m_entries.end(), [&](const Entry& entry) {
                             return !entry.admitted && entry.conversation == conversation;
                           });
  if (!can_run_now && queued() >= m_limits.max_queued) return std::nullopt;
  const Ticket ticket = m_next++;
  m_entries.push_back(Entry{ticket, conversation, false, now});
  admit_waiters(now);
  return ticket;
}

bool AdmissionQueue::admitted(Ticket ticket) const {
  const auto found = std::find_if(m_entries.begin(), m_entries.end(),
                                  [ticket](const Entry& entry) { return entry.ticket == ticket; });
  return found != m_entries.end() && found->admitted;
}

void AdmissionQueue::leave(Ticket ticket, Clock::time_point now) {
  const auto found = std::find_if(m_entries.begin(), m_entries.end(),
                                  [ticket](const Entry& entry) { return entry.ticket == ticket; });
  if (found == m_entries.end()) return;
  if (found->admitted) {
    --m_running;
    // Weight 1/4: recent runs dominate, one odd run does not.
    const auto held = std::chrono::duration_cast<std::chrono::milliseconds>(now - found->since);
    m_average_hold = (m_average_hold * 3 + std::max(held, std::chrono::milliseconds(0))) / 4;
  }
  m_entries.erase(found);
  admit_waiters(now);
}

bool AdmissionQueue::conversation_running(const std::string& conversation) const {
  return std::any_of(m_entries.begin(), m_entries.end(), [&](const Entry& entry) {
    return entry.admitted && entry.conversation == conversation;
  });
}

std::chrono::seconds AdmissionQueue::retry_after() const {
  // The caller would be behind everyone queued: that many rounds of max_running runs, each about
  // as long as recent runs held their slot.
  const double rounds = static_cast<double>(queued() + 1) / static_cast<double>(m_limits.max_running);
  const double seconds = std::ceil(rounds * static_cast<double>(m_average_hold.count()) / 1000.0);
  return std::chrono::seconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(seconds)));
}

void AdmissionQueue::admit_waiters(Clock::time_point now) {
  for (auto& entry : m_entries) {
    if (m_running >= m_limits.max_running) return;
    if (entry.admitted || conversation_running(entry.conversation)) continue;
    entry.admitted = true;
    entry.since = now;
    ++m_running;
  }
}

// --- Admission ------------------------------------------------------------------------------------

Admission::Admission(AdmissionLimits limits, Observer observer)
    : m_limits(limits), m_observer(std::move(observer)), m_queue(limits) {}

core::Result<Admission::Slot> Admission::acquire(const std::string& conversation, std::stop_token cancel,
                                                 const std::function<void(const AdmissionCounts&)>& on_queued) {
  using Clock = AdmissionQueue::Clock;
  std::unique_lock lock(m_mutex);
  const auto start = Clock::now();
  const auto ticket = m_queue.enter(conversation, start);
  if (!ticket) {
    notify_rejected("queue_full");
    return core::fail(busy_error(""));
  }
  notify_observer();
  if (m_queue.admitted(*ticket)) return Slot(this, *ticket);
  const AdmissionCounts waiting{m_queue.running(), m_queue.queued()};
  lock.unlock();
  if (on_queued) on_queued(waiting);
  lock.lock();
  // Wakes on every release, on the deadline and on cancellation (the stop_token overload
  // registers a callback that notifies this condition variable).
  const bool admitted = m_changed.wait_until(lock, cancel, start + m_limits.queue_timeout,
                                             [&] { return m_queue.admitted(*ticket); });
  if (admitted) return Slot(this, *ticket);
  m_queue.leave(*ticket, Clock::now());
  notify_observer();
  notify_rejected(cancel.stop_requested() ? "cancelled" : "queue_timeout");
  core::Error error = cancel.stop_requested()
                          ? core::Error{core::ErrorKind::timeout, "cancelled while waiting for a free run slot"}
                          : busy_error(m_queue.conversation_running(conversation)
                                           ? "another run of this conversation is still running; "
                                           : "waited " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                                                                            m_limits.queue_timeout)
                                                                            .count()) +
                                                 " s for a free run slot; ");
  lock.unlock();
  m_changed.notify_all();  // leaving may have let a later waiter in
  return core::fail(std::move(error));
}

AdmissionCounts Admission::counts() const {
  std::lock_guard lock(m_mutex);
  return AdmissionCounts{m_queue.running(), m_queue.queued()};
}

void Admission::release(AdmissionQueue::Ticket ticket) {
  {
    std::lock_guard lock(m_mutex);
    m_queue.leave(ticket, AdmissionQueue::Clock::now());
    notify_observer();
  }
  m_changed.notify_all();
}

core::Error Admission::busy_error(const std::string& why) const {
  return core::Error{core::ErrorKind::unavailable,
                     "busy: " + why + std::to_string(m_queue.running()) + " running, " +
                         std::to_string(m_queue.queued()) + " queued; retry after " +
                         std::to_string(m_queue.retry_after().count()) + " s"};
}

// Under m_mutex, so that observers see the changes in the order they happened.
void Admission::notify_observer() {
  if (m_observer.changed) m_observer.changed(AdmissionCounts{m_queue.running(), m_queue.queued()});
}

void Admission::notify_rejected(std::string_view reason) {
  if (m_observer.rejected) m_observer.rejected(reason);
}

Admission::Slot::Slot(Slot&& other) noexcept : m_owner(std::exchange(other.m_owner, nullptr)), m_ticket(other.m_ticket) {}

Admission::Slot::~Slot() {
  if (m_owner != nullptr) m_owner->release(m_ticket);
}

std::size_t default_max_running(unsigned hardware_threads, double cpus_per_run) {
  if (hardware_threads == 0 || cpus_per_run <= 0) return 1;
  return std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(hardware_threads / cpus_per_run)));
}

}  // namespace runner
