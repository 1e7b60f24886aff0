#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace runner {

/// How many runs may hold a container at once and how many may wait for one.
struct AdmissionLimits {
  std::size_t max_running = 4;  ///< runs with a container at once (never 0)
  std::size_t max_queued = 16;  ///< runs waiting beyond those; 0 = refuse at once when full
  std::chrono::milliseconds queue_timeout{30000};  ///< longest a run waits for its turn
};

/// The bookkeeping of admission, without threads or clocks (the caller passes `now`): which runs
/// hold a slot and which wait, in arrival order. A waiter is admitted when a slot is free and no run
/// of its conversation holds one, so two runs of one conversation never overlap and a conversation
/// waiting for its own run does not hold up the others. Not thread-safe; Admission locks around it.
class AdmissionQueue {
 public:
  using Ticket = std::uint64_t;
  using Clock = std::chrono::steady_clock;

  explicit AdmissionQueue(AdmissionLimits limits);

  /// Adds a run of `conversation`, admitted at once when it can be; nothing when the queue is full
  /// (the caller is told busy and nothing changes).
  std::optional<Ticket> enter(const std::string& conversation, Clock::time_point now);
  /// Whether `ticket` holds a slot.
  [[nodiscard]] bool admitted(Ticket ticket) const;
  /// Ends `ticket` (a finished run, or a waiter that gives up) and admits whoever can now run.
  void leave(Ticket ticket, Clock::time_point now);

  [[nodiscard]] std::size_t running() const { return m_running; }
  [[nodiscard]] std::size_t queued() const { return m_entries.size() - m_running; }
  /// Whether a run of `conversation` holds a slot now.
  [[nodiscard]] bool conversation_running(const std::string& conversation) const;
  /// A hint for a refused caller: about how long until a slot frees for one more run, from how long
  /// recent runs held theirs, at least 1 s.
  [[nodiscard]] std::chrono::seconds retry_after() const;
  [[nodiscard]] const AdmissionLimits& limits() const { return m_limits; }

 private:
  struct Entry {
    Ticket ticket;
    std::string conversation;
    bool admitted = false;
    Clock::time_point since;  ///< when it was admitted
  };
  void admit_waiters(Clock::time_point now);

  AdmissionLimits m_limits;
  std::list<Entry> m_entries;  ///< arrival order; admitted and waiting alike
  std::size_t m_running = 0;
  Ticket m_next = 1;
  /// Moving average of how long a run holds its slot; seeds the retry hint.
  std::chrono::milliseconds m_average_hold{1000};
};

/// What the server reports about admission (metrics): the counts after each change.
struct AdmissionCounts {
  std::size_t running = 0;
  std::size_t queued = 0;
};

/// Admission in front of the executor: a run waits here for a slot before its container is created
/// and keeps it until the container is removed, so the engine never holds more than max_running of
/// our run containers. Beyond the queue, past the queue deadline, or when the caller cancels, the
/// wait ends at once with an error a model can act on. Thread-safe.
class Admission {
 public:
  class Slot;
  /// What admission reports (metrics). Both are called under the admission's lock, so calls come in
  /// order: keep them quick (set a gauge, count) and never call back into the Admission.
  struct Observer {
    std::function<void(const AdmissionCounts&)> changed;  ///< after every change
    /// A run refused: "queue_full", "queue_timeout" or "cancelled".
    std::function<void(std::string_view reason)> rejected;
  };

  explicit Admission(AdmissionLimits limits, Observer observer = {});

  /// Waits for a slot for a run of `conversation` (any stable key for it). Errors: unavailable
  /// ("busy: N running, M queued; retry after S s") when the queue is full or the deadline passes,
  /// timeout when `cancel` stops first. `on_queued` is called once if the run has to wait.
  core::Result<Slot> acquire(const std::string& conversation, std::stop_token cancel,
                             const std::function<void(const AdmissionCounts&)>& on_queued = {});

  [[nodiscard]] AdmissionCounts counts() const;
  [[nodiscard]] const AdmissionLimits& limits() const { return m_limits; }

  /// A held slot; destroying it frees the slot for the next waiter.
  class Slot {
   public:
    Slot(Slot&& other) noexcept;
    Slot& operator=(Slot&&) = delete;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();

   private:
    friend class Admission;
    Slot(Admission* owner, AdmissionQueue::Ticket ticket) : m_owner(owner), m_ticket(ticket) {}
    Admission* m_owner;
    AdmissionQueue::Ticket m_ticket;
  };

 private:
  void release(AdmissionQueue::Ticket ticket);
  core::Error busy_error(const std::string& why) const;  // m_mutex held
  void notify_observer();                       // m_mutex held
  void notify_rejected(std::string_view reason);  // m_mutex held

  const AdmissionLimits m_limits;
  Observer m_observer;
  mutable std::mutex m_mutex;
  std::condition_variable_any m_changed;
  AdmissionQueue m_queue;
};

/// MAX_CONCURRENT_RUNS when the operator leaves it at 0: as many runs as the machine's CPUs hold at
/// `cpus_per_run` each (2 x cores at the default 0.5 CPU), at least 1.
std::size_t default_max_running(unsigned hardware_threads, double cpus_per_run);

}  // namespace runner
