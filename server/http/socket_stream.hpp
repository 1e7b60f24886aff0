#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "http/connection_limits.hpp"

namespace http {

using Clock = std::chrono::steady_clock;

/// One client connection's socket with deadlines: every read stops at the current deadline however
/// little arrives at a time, every write must be done within the write timeout, and waits end soon
/// after the server stops listening. Bytes read but not yet used wait in `pending()` (the rest of a
/// head's buffer is the body, or the next request). Not thread-safe: one connection, one thread.
class SocketStream {
 public:
  /// `listening` is the server's listening socket: once it is -1 the server is stopping.
  SocketStream(int sock, const ConnectionLimits& limits, const std::atomic<int>& listening)
      : m_sock(sock), m_limits(limits), m_listening(listening) {}

  void set_read_deadline(Clock::time_point deadline) { m_deadline = deadline; }
  /// Whether the last failed read failed because the read deadline passed.
  [[nodiscard]] bool deadline_passed() const { return m_deadline_passed; }

  /// Bytes received and not yet consumed.
  std::string& pending() { return m_pending; }
  /// Receives more bytes into pending(): the count (> 0), 0 when the peer closed, -1 on an error,
  /// the deadline, or a stopping server.
  long fill(std::size_t max_bytes = 16 * 1024);
  /// Up to `size` bytes into `out` from pending() first, else from the socket (one receive).
  long read_some(char* out, std::size_t size);
  /// Waits until a request's first byte is here (or pending), up to `deadline`; false when none came.
  bool wait_request(Clock::time_point deadline);
  /// Sends all of `data` within the write timeout; false when the client is gone or too slow.
  bool write_all(std::string_view data);

  [[nodiscard]] int socket() const { return m_sock; }
  [[nodiscard]] bool stopping() const { return m_listening.load() == -1; }

 private:
  bool wait_readable();

  int m_sock;
  const ConnectionLimits& m_limits;
  const std::atomic<int>& m_listening;
  Clock::time_point m_deadline = Clock::now();
  bool m_deadline_passed = false;
  std::string m_pending;
};

/// The numeric address and port of one end of a socket (`peer`: the other end); unchanged on failure.
void socket_address(int sock, bool peer, std::string& ip, int& port);

/// Waits up to `timeout` for `events` on `fd`; true when they came.
bool wait_for_socket(int fd, short events, std::chrono::milliseconds timeout);

}  // namespace http
