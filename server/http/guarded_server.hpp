#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "http/connection_limits.hpp"

namespace http {

/// Open connections per peer address, capped. Thread-safe.
class PeerConnections {
 public:
  /// At most `max_per_peer` at once from one address; 0 = no cap.
  explicit PeerConnections(std::size_t max_per_peer) : m_max(max_per_peer) {}

  /// Counts a new connection from `peer`; false (nothing counted) when that address is at the cap.
  bool open(const std::string& peer);
  /// Ends one connection counted by open().
  void close(const std::string& peer);
  /// Connections open now from `peer`.
  [[nodiscard]] std::size_t count(const std::string& peer) const;

 private:
  std::size_t m_max;
  mutable std::mutex m_mutex;
  std::map<std::string, std::size_t> m_open;
};

/// httplib's server with total deadlines: httplib 0.11's own read timeout restarts on every byte,
/// so a client sending a header byte a second would hold a worker thread for ever. This class
/// serves each connection itself (httplib lets a subclass override process_and_close_socket, the
/// per-connection entry point of its worker threads) through a stream whose reads stop at the
/// request's deadline and whose writes stop at their own, and closes connections beyond the
/// per-address cap at once, so one slow or greedy client cannot pin every worker. Before a body is
/// read, the request's head is checked (request_framing.hpp): ambiguous framing and bodies over
/// the payload limit are answered at once and the connection is closed, its body never read.
class GuardedServer : public httplib::Server {
 public:
  /// Installs httplib's pre-routing handler (for the framing check): do not replace it.
  explicit GuardedServer(ConnectionLimits limits);

  [[nodiscard]] const PeerConnections& peers() const { return m_peers; }

  /// Call after binding: httplib 0.11 listens with a backlog of 5, so in a burst of connections
  /// (or while slow clients connect) the kernel drops SYNs and a client waits a second for the
  /// retransmit. Linux lets listen() be called again to widen it.
  bool widen_backlog(int backlog = 1024);

 private:
  bool process_and_close_socket(socket_t sock) override;
  /// `refused` is set when a request was refused before its body was read (drain_before_close).
  bool serve_connection(socket_t sock, bool& refused);
  void closed(std::string_view reason) const;

  ConnectionLimits m_limits;
  PeerConnections m_peers;
};

}  // namespace http
