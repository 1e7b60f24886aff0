#include "core/fd.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

namespace core {

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (m_fd >= 0) ::close(m_fd);
}

Result<short> poll_until(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    // Rounded up, so that a wait never ends before the deadline; recomputed after each signal.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd entry{fd, events, 0};
    const int ready = ::poll(&entry, 1, static_cast<int>(std::clamp<long long>(left, 0, INT_MAX)));
    if (ready >= 0) return ready == 0 ? short{0} : entry.revents;
    if (errno != EINTR) return fail(ErrorKind::internal, std::string("poll failed: ") + std::strerror(errno));
  }
}

}  // namespace core
