#include "http/guarded_server.hpp"

#include "core/fd.hpp"
#include "http/request_framing.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

namespace http {

// --- PeerConnections ------------------------------------------------------------------------------

bool PeerConnections::open(const std::string& peer) {
  std::lock_guard lock(m_mutex);
  auto& count = m_open[peer];
  if (m_max != 0 && count >= m_max) {
    if (count == 0) m_open.erase(peer);
    return false;
  }
  ++count;
  return true;
}

void PeerConnections::close(const std::string& peer) {
  std::lock_guard lock(m_mutex);
  const auto found = m_open.find(peer);
  if (found == m_open.end()) return;
  if (--found->second == 0) m_open.erase(found);
}

std::size_t PeerConnections::count(const std::string& peer) const {
  std::lock_guard lock(m_mutex);
  const auto found = m_open.find(peer);
  return found == m_open.end() ? 0 : found->second;
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// The numeric address of one end of a socket, as httplib itself writes it.
void socket_address(socket_t sock, bool peer, std::string& ip, int& port) {
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

// Waits up to `timeout` for `events` on `sock`; true when they came.
bool wait_for(socket_t sock, short events, milliseconds timeout) {
  return core::poll_until(sock, events, Clock::now() + timeout).value_or(0) != 0;
}

// How often a waiting connection notices that the server is stopping.
constexpr milliseconds kStopCheck{200};

// Rounded up, so that "0 left" means the deadline has passed.
milliseconds until(Clock::time_point deadline) { return std::chrono::ceil<milliseconds>(deadline - Clock::now()); }

// A connection's socket as httplib sees it, with deadlines: every read stops at the current
// request's read deadline however little arrives at a time, and every write must be done within
// the write timeout. Buffers reads, as httplib parses request lines a byte at a time.
class DeadlineStream final : public httplib::Stream {
 public:
  DeadlineStream(socket_t sock, const ConnectionLimits& limits, const std::atomic<socket_t>& listening)
      : m_sock(sock), m_limits(limits), m_listening(listening) {}
  using httplib::Stream::write;

  void set_read_deadline(Clock::time_point deadline) { m_deadline = deadline; }
  [[nodiscard]] bool deadline_passed() const { return m_deadline_passed; }
  [[nodiscard]] bool has_buffered() const { return m_begin < m_end; }

  bool is_readable() const override { return has_buffered() || wait_readable(); }

  bool is_writable() const override { return wait_for(m_sock, POLLOUT, m_limits.write_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (!has_buffered()) {
      if (!wait_readable()) return -1;
      ssize_t received = 0;
      do {
        received = ::recv(m_sock, m_buffer.data(), m_buffer.size(), 0);
      } while (received < 0 && errno == EINTR);
      if (received <= 0) return received;
      m_begin = 0;
      m_end = static_cast<std::size_t>(received);
    }
    const std::size_t count = std::min(size, m_end - m_begin);
    std::memcpy(ptr, m_buffer.data() + m_begin, count);
    m_begin += count;
    return static_cast<ssize_t>(count);
  }

  ssize_t write(const char* ptr, size_t size) override {
    const auto deadline = Clock::now() + m_limits.write_timeout;
    std::size_t sent = 0;
    while (sent < size) {
      const auto left = until(deadline);
      if (left.count() <= 0 || !wait_for(m_sock, POLLOUT, left)) return -1;
      const auto written = ::send(m_sock, ptr + sent, size - sent, MSG_NOSIGNAL);
      if (written < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return -1;
      }
      sent += static_cast<std::size_t>(written);
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { socket_address(m_sock, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { socket_address(m_sock, false, ip, port); }
  socket_t socket() const override { return m_sock; }

 private:
  // Until data comes, the read timeout or the request's deadline; in slices, so that a stopping
  // server is not kept waiting by a slow client.
  // Notes when the request's deadline is what ended the wait.
  bool wait_readable() const {
    const auto deadline = std::min(m_deadline, Clock::now() + m_limits.read_timeout);
    while (m_listening != INVALID_SOCKET) {
      const auto left = until(deadline);
      if (left.count() <= 0) {
        m_deadline_passed = Clock::now() >= m_deadline;
        return false;
      }
      if (wait_for(m_sock, POLLIN, std::min(left, kStopCheck))) return true;
    }
    return false;
  }

  socket_t m_sock;
  const ConnectionLimits& m_limits;
  const std::atomic<socket_t>& m_listening;
  Clock::time_point m_deadline = Clock::now();
  mutable bool m_deadline_passed = false;
  std::array<char, 4096> m_buffer{};
  std::size_t m_begin = 0;
  std::size_t m_end = 0;
};

// After a refusal whose body was never read the client may still be sending it, and closing a
// socket with unread data makes the kernel answer with a reset, which can destroy the refusal
// before the client reads it (a 413 turns into "connection reset"). So stop writing and drop what
// still comes, until the client closes, for at most a moment and a bounded amount (a lingering
// close, as nginx does).
constexpr milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;

void drain_before_close(socket_t sock) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + kLingerTime;
  std::array<char, 16 * 1024> sink{};
  std::size_t dropped = 0;
  while (dropped < kLingerBytes) {
    const auto left = until(deadline);
    if (left.count() <= 0 || !wait_for(sock, POLLIN, left)) break;
    const auto received = ::recv(sock, sink.data(), sink.size(), 0);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0) break;
    dropped += static_cast<std::size_t>(received);
  }
}

// Said to a connection beyond the per-address cap, without reading its request (that could block).
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 39\r\n\r\nToo many connections from this address\n";

}  // namespace

GuardedServer::GuardedServer(ConnectionLimits limits)
    : m_limits(std::move(limits)), m_peers(m_limits.max_connections_per_peer) {
  // Runs after the head is read and before the body is: serve_connection closes the connection
  // after a refusal (see there), so no unread body is taken for the next request.
  set_pre_routing_handler([this](const httplib::Request& request, httplib::Response& response) {
    const auto refused = refuse_framing(request, payload_max_length_);
    if (!refused) return HandlerResponse::Unhandled;
    closed("framing");
    response.status = refused->status;
    response.set_header("Connection", "close");
    response.set_content(refused->message + "\n", "text/plain");
    return HandlerResponse::Handled;
  });
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  std::string peer;
  int port = 0;
  socket_address(sock, true, peer, port);
  bool served = false;
  if (m_peers.open(peer)) {
    bool refused = false;
    served = serve_connection(sock, refused);
    if (refused) drain_before_close(sock);
    m_peers.close(peer);
  } else {
    closed("per_peer");
    // Best effort and never blocking: the socket buffer of a fresh connection has room for this.
    (void)::send(sock, kTooManyConnections.data(), kTooManyConnections.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return served;
}

// httplib's keep-alive loop, with the deadlines in place of its per-read timeout.
bool GuardedServer::serve_connection(socket_t sock, bool& refused) {
  DeadlineStream stream(sock, m_limits, svr_sock_);
  bool ok = false;
  bool first = true;
  for (std::size_t left = keep_alive_max_count_; left > 0 && svr_sock_ != INVALID_SOCKET; --left) {
    // A new connection must start its request within the header deadline; a kept-alive one may idle.
    const auto idle_deadline = Clock::now() + (first ? m_limits.header_timeout : m_limits.idle_timeout);
    bool readable = stream.has_buffered();
    while (!readable && svr_sock_ != INVALID_SOCKET && until(idle_deadline).count() > 0) {
      readable = wait_for(sock, POLLIN, std::min(kStopCheck, until(idle_deadline)));
    }
    if (!readable) {
      if (first && svr_sock_ != INVALID_SOCKET) closed("read_deadline");
      break;
    }
    const auto start = first ? idle_deadline - m_limits.header_timeout : Clock::now();
    first = false;
    stream.set_read_deadline(start + m_limits.header_timeout);
    bool connection_closed = false;
    ok = process_request(stream, left == 1, connection_closed, [&](httplib::Request& request) {
      stream.set_read_deadline(Clock::now() + m_limits.body_timeout);
      // The pre-routing handler answers this request without reading its body: end the connection.
      if (refuse_framing(request, payload_max_length_)) refused = connection_closed = true;
      // RFC 9112 6.3: a request with neither header has no body. httplib would read one until the
      // client closed, holding a kept-alive client's POST until the body deadline.
      if (!request.has_header("Content-Length") && !request.has_header("Transfer-Encoding")) {
        request.set_header("Content-Length", "0");
      }
    });
    if (stream.deadline_passed()) {
      closed("read_deadline");
      break;
    }
    if (!ok || connection_closed) break;
  }
  return ok;
}

bool GuardedServer::widen_backlog(int backlog) {
  const socket_t listening = svr_sock_;
  return listening != INVALID_SOCKET && ::listen(listening, backlog) == 0;
}

void GuardedServer::closed(std::string_view reason) const {
  if (m_limits.on_closed) m_limits.on_closed(reason);
}

}  // namespace http
