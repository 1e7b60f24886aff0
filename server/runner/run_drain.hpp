#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>

namespace runner {

/// The runs in flight, for a graceful shutdown: close() refuses new runs,
/// wait_idle() lets the running ones finish, cancel_all() makes the rest
/// kill their containers (the executor's guards then remove them).
/// Thread-safe.
class RunDrain {
 public:
  /// Counts one run as in flight for as long as it lives (move-only).
  class Pass {
   public:
    explicit Pass(RunDrain& owner) : m_owner(&owner) {}
    Pass(Pass&& other) noexcept : m_owner(std::exchange(other.m_owner, nullptr)) {}
    Pass& operator=(Pass&&) = delete;
    Pass(const Pass&) = delete;
    Pass& operator=(const Pass&) = delete;
    ~Pass();

   private:
    RunDrain* m_owner;
  };

  /// A pass for one run; nullopt once close() was called.
  [[nodiscard]] std::optional<Pass> enter();
  /// From now on enter() refuses.
  void close();
  /// Waits until no run is in flight or `deadline` passes; true when idle.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);
  /// Asks every run in flight (and any later one) to stop now.
  void cancel_all() { m_cancel.request_stop(); }
  /// Stopped by cancel_all(); runs poll it alongside their own cancellation.
  [[nodiscard]] std::stop_token stop_token() const { return m_cancel.get_token(); }
  [[nodiscard]] std::size_t in_flight() const;

 private:
  mutable std::mutex m_mutex;
  std::condition_variable m_idle;
  std::size_t m_in_flight = 0;
  bool m_closed = false;
  std::stop_source m_cancel;
};

}  // namespace runner
