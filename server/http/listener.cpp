#include "http/listener.hpp"

#include "http/socket_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <string_view>

namespace http {

namespace {

// A connection is idle only while nothing of its next request has come. Its worker marks it busy
// when it wakes to read, which can be a moment after the bytes arrived: the socket itself says
// whether a request is already waiting, and such a connection is never closed to make room.
bool request_waiting(int sock) {
  char byte = 0;
  return ::recv(sock, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

}  // namespace

std::list<int>::iterator PeerConnections::closable(const std::string* peer) {
  return std::find_if(m_idle.begin(), m_idle.end(), [&](int idle) {
    return (peer == nullptr || m_connections.at(idle).peer == *peer) && !request_waiting(idle);
  });
}

bool PeerConnections::open(int sock, const std::string& peer, bool capped) {
  std::lock_guard lock(m_mutex);
  if (capped && m_max != 0 && m_open[peer] >= m_max) {
    const auto oldest = closable(&peer);
    if (oldest == m_idle.end()) {
      if (m_open[peer] == 0) m_open.erase(peer);
      return false;
    }
    close_idle(*oldest);
  }
  if (capped) ++m_open[peer];
  m_connections[sock] = Connection{peer, capped, false};
  return true;
}

void PeerConnections::close(int sock) {
  std::lock_guard lock(m_mutex);
  const auto found = m_connections.find(sock);
  if (found == m_connections.end()) return;
  m_idle.remove(sock);
  if (found->second.counted) {
    const auto open = m_open.find(found->second.peer);
    if (open != m_open.end() && --open->second == 0) m_open.erase(open);
  }
  m_connections.erase(found);
}

bool PeerConnections::close_longest_idle() {
  std::lock_guard lock(m_mutex);
  const auto oldest = closable(nullptr);
  if (oldest == m_idle.end()) return false;
  close_idle(*oldest);
  return true;
}

void PeerConnections::close_idle(int sock) {
  m_idle.remove(sock);
  auto& connection = m_connections.at(sock);
  connection.closed = true;
  if (connection.counted) {
    connection.counted = false;
    const auto open = m_open.find(connection.peer);
    if (open != m_open.end() && --open->second == 0) m_open.erase(open);
  }
  if (m_made_room) m_made_room();
  // The worker polling it sees the hang-up at once; the socket stays valid until that worker closes it.
  ::shutdown(sock, SHUT_RDWR);
}

void PeerConnections::idle(int sock) {
  std::lock_guard lock(m_mutex);
  const auto found = m_connections.find(sock);
  if (found != m_connections.end() && !found->second.closed) m_idle.push_back(sock);
}

bool PeerConnections::busy(int sock) {
  std::lock_guard lock(m_mutex);
  m_idle.remove(sock);
  const auto found = m_connections.find(sock);
  return found != m_connections.end() && !found->second.closed;
}

std::size_t PeerConnections::count(const std::string& peer) const {
  std::lock_guard lock(m_mutex);
  const auto found = m_open.find(peer);
  return found == m_open.end() ? 0 : found->second;
}

namespace {

// Said to a connection beyond the per-address cap, without reading its request (that could block).
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 39\r\n\r\nToo many connections from this address\n";

}  // namespace

Listener::Listener(const ConnectionSettings& settings, std::size_t max_connections_per_peer)
    : m_settings(settings), m_peers(max_connections_per_peer, [this] {
        if (m_settings.limits.on_closed) m_settings.limits.on_closed("idle_for_room");
      }) {}

bool Listener::process_and_close_socket(socket_t sock) {
  std::string peer;
  int port = 0;
  socket_address(sock, true, peer, port);
  const bool capped = !m_settings.proxies.trusted(peer);
  if (m_peers.open(sock, peer, capped)) {
    serve_connection(sock, peer, svr_sock_, m_settings, &m_peers);
    m_peers.close(sock);
  } else {
    if (m_settings.limits.on_closed) m_settings.limits.on_closed("per_peer");
    // Best effort and never blocking: the socket buffer of a fresh connection has room for this.
    (void)::send(sock, kTooManyConnections.data(), kTooManyConnections.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

bool Listener::widen_backlog(int backlog) {
  const socket_t listening = svr_sock_;
  return listening != INVALID_SOCKET && ::listen(listening, backlog) == 0;
}

}  // namespace http
