#include "http/socket_stream.hpp"

#include "core/fd.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cerrno>
#include <cstring>

namespace http {

namespace {

using std::chrono::milliseconds;

// How often a waiting connection notices that the server is stopping.
constexpr milliseconds kStopCheck{200};

// Rounded up, so that "0 left" means the deadline has passed.
milliseconds until(Clock::time_point deadline) { return std::chrono::ceil<milliseconds>(deadline - Clock::now()); }

}  // namespace

void socket_address(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  auto* raw = reinterpret_cast<sockaddr*>(&address);  // NOLINT: the sockets API
  if ((peer ? ::getpeername(sock, raw, &length) : ::getsockname(sock, raw, &length)) != 0) return;
  std::array<char, NI_MAXHOST> host{};
  std::array<char, NI_MAXSERV> service{};
  if (::getnameinfo(raw, length, host.data(), host.size(), service.data(), service.size(),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host.data();
    port = std::atoi(service.data());
  }
}

bool wait_for_socket(int fd, short events, milliseconds timeout) {
  return core::poll_until(fd, events, Clock::now() + timeout).value_or(0) != 0;
}

// Until data comes, the read timeout or the request's deadline; in slices, so that a stopping server
// is not kept waiting by a slow client. Notes when the request's deadline is what ended the wait.
bool SocketStream::wait_readable() {
  const auto deadline = std::min(m_deadline, Clock::now() + m_limits.read_timeout);
  while (!stopping()) {
    const auto left = until(deadline);
    if (left.count() <= 0) {
      m_deadline_passed = Clock::now() >= m_deadline;
      return false;
    }
    if (wait_for_socket(m_sock, POLLIN, std::min(left, kStopCheck))) return true;
  }
  return false;
}

long SocketStream::fill(std::size_t max_bytes) {
  if (!wait_readable()) return -1;
  const auto old_size = m_pending.size();
  m_pending.resize(old_size + max_bytes);
  ssize_t received = 0;
  do {
    received = ::recv(m_sock, m_pending.data() + old_size, max_bytes, 0);
  } while (received < 0 && errno == EINTR);
  m_pending.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(received, 0)));
  return received < 0 ? -1 : static_cast<long>(received);
}

long SocketStream::read_some(char* out, std::size_t size) {
  if (m_pending.empty()) {
    const auto got = fill(std::min<std::size_t>(size, 64 * 1024));
    if (got <= 0) return got;
  }
  const std::size_t count = std::min(size, m_pending.size());
  std::memcpy(out, m_pending.data(), count);
  m_pending.erase(0, count);
  return static_cast<long>(count);
}

bool SocketStream::wait_request(Clock::time_point deadline) {
  if (!m_pending.empty()) return true;
  while (!stopping() && until(deadline).count() > 0) {
    if (wait_for_socket(m_sock, POLLIN, std::min(kStopCheck, until(deadline)))) return true;
  }
  return false;
}

bool SocketStream::write_all(std::string_view data) {
  const auto deadline = Clock::now() + m_limits.write_timeout;
  std::size_t sent = 0;
  while (sent < data.size()) {
    const auto left = until(deadline);
    if (left.count() <= 0 || !wait_for_socket(m_sock, POLLOUT, left)) return false;
    const auto written = ::send(m_sock, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (written < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      return false;
    }
    sent += static_cast<std::size_t>(written);
  }
  return true;
}

}  // namespace http
