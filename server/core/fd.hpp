#pragma once

#include <chrono>

#include "core/error.hpp"

namespace core {

/// An owned file descriptor, closed when it goes out of scope.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : m_fd(fd) {}
  Fd(Fd&& other) noexcept : m_fd(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  [[nodiscard]] int get() const { return m_fd; }
  /// Hands the descriptor over to the caller, who closes it from now on.
  int release() {
    const int fd = m_fd;
    m_fd = -1;
    return fd;
  }

 private:
  int m_fd = -1;
};

/// Waits until `fd` has one of `events` (POLLIN, POLLOUT) or `deadline` passes, restarting
/// after a signal. Returns the events that came (revents, which may be POLLHUP, POLLERR or
/// POLLNVAL), 0 when the deadline passed first, or an error when poll itself failed.
Result<short> poll_until(int fd, short events, std::chrono::steady_clock::time_point deadline);

}  // namespace core
