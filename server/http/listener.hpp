#pragma once

#include <httplib.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>

#include "http/connection.hpp"

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

/// The listening socket and its accept loop, from httplib (which hands each accepted connection to
/// the server's task queue, a WorkerPool). httplib reads nothing: each connection is served by
/// serve_connection (our own parser and framing, connection.hpp). Connections beyond the per-address
/// cap are closed at once with a 429; trusted proxies carry many clients and are not capped.
class Listener final : public httplib::Server {
 public:
  Listener(const ConnectionSettings& settings, std::size_t max_connections_per_peer);

  [[nodiscard]] const PeerConnections& peers() const { return m_peers; }

  /// Call after binding: httplib 0.11 listens with a backlog of 5, so in a burst of connections
  /// (or while slow clients connect) the kernel drops SYNs and a client waits a second for the
  /// retransmit. Linux lets listen() be called again to widen it.
  bool widen_backlog(int backlog = 1024);

 private:
  bool process_and_close_socket(socket_t sock) override;

  const ConnectionSettings& m_settings;
  PeerConnections m_peers;
};

}  // namespace http
