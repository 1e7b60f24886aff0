#pragma once

#include <httplib.h>

#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "http/connection.hpp"

namespace http {

/// The connections being served, by socket: how many each peer address has open (capped), and which
/// of them are kept alive and idle, waiting for their next request. An idle connection costs a
/// worker thread and a slot of its address's cap while it does nothing, and well-behaved clients
/// (HTTP client pools, browsers) keep several: so, as nginx does with its keep-alive connections,
/// the longest-idle one is closed to make room — for a new connection from the same address at its
/// cap, or for any connection when every worker is taken. A connection closed while it was idle is
/// what HTTP/1.1 clients expect of keep-alive (RFC 9112 9.3: a server may close an idle connection
/// at any time); a connection in the middle of a request, or whose next request has begun to arrive,
/// is never closed to make room. Thread-safe.
class PeerConnections final : public IdleWatcher {
 public:
  /// At most `max_per_peer` connections at once from one address; 0 = no cap. `made_room` is
  /// called (with the lock held: keep it short) for each idle connection closed to make room.
  explicit PeerConnections(std::size_t max_per_peer, std::function<void()> made_room = {})
      : m_max(max_per_peer), m_made_room(std::move(made_room)) {}

  /// Registers connection `sock` from `peer`, counted against the cap when `capped`. At the cap,
  /// the peer's longest-idle connection is closed to make room; false (nothing registered) when
  /// none of its connections is idle.
  bool open(int sock, const std::string& peer, bool capped = true);
  /// Ends what open() registered.
  void close(int sock);
  /// Closes the longest-idle connection of any peer (one whose next request has begun to arrive is
  /// not idle); false when no connection is idle.
  bool close_longest_idle();

  void idle(int sock) override;
  bool busy(int sock) override;

  /// Connections counted now for `peer`.
  [[nodiscard]] std::size_t count(const std::string& peer) const;

 private:
  struct Connection {
    std::string peer;
    bool counted = false;   ///< holds a slot of the peer's cap
    bool closed = false;    ///< closed to make room while idle
  };
  // With m_mutex held: the longest-idle connection (of `peer`, or of any when null) whose next
  // request has not begun to arrive; m_idle.end() when there is none.
  std::list<int>::iterator closable(const std::string* peer);
  // With m_mutex held: shuts the idle connection `sock` down (its worker wakes and ends it) and gives
  // its slot back at once, so the connection it makes room for can take it.
  void close_idle(int sock);

  std::size_t m_max;
  std::function<void()> m_made_room;
  mutable std::mutex m_mutex;
  std::map<std::string, std::size_t> m_open;
  std::map<int, Connection> m_connections;
  std::list<int> m_idle;  ///< idle connections, longest idle first
};

/// The listening socket and its accept loop, from httplib (which hands each accepted connection to
/// the server's task queue, a WorkerPool). httplib reads nothing: each connection is served by
/// serve_connection (our own parser and framing, connection.hpp). A connection beyond the per-address
/// cap is closed at once with a 429, unless one of that address's connections is idle and can make
/// room (PeerConnections); trusted proxies carry many clients and are not capped.
class Listener final : public httplib::Server {
 public:
  Listener(const ConnectionSettings& settings, std::size_t max_connections_per_peer);

  [[nodiscard]] const PeerConnections& peers() const { return m_peers; }
  /// Called when a connection has to wait because every worker is taken: an idle one makes room.
  void make_room() { (void)m_peers.close_longest_idle(); }

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
