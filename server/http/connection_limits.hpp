#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace http {

/// How long and how much one HTTP connection may take (enforced by GuardedServer).
struct ConnectionLimits {
  /// From the first byte of a request (for a new connection: from when a worker takes it) until its
  /// headers are in, however slowly they trickle.
  std::chrono::milliseconds header_timeout{10000};
  /// From the end of the headers until the whole body is in.
  std::chrono::milliseconds body_timeout{60000};
  /// Longest wait for any single read to make progress (within the deadlines above).
  std::chrono::milliseconds read_timeout{30000};
  /// Longest a single write (a response head, a body, one SSE event) may take in total, so a client
  /// that reads a byte a second cannot hold a worker for long.
  std::chrono::milliseconds write_timeout{60000};
  /// Longest wait for the next request on a kept-alive connection. It holds a worker thread all
  /// that time, and stopping waits for it: keep it short.
  std::chrono::milliseconds idle_timeout{5000};
  std::size_t max_connections_per_peer = 16;  ///< 0 = no cap
  /// Called when the guard closes a connection: "per_peer", "read_deadline" or "framing".
  std::function<void(std::string_view reason)> on_closed;
};

}  // namespace http
