#include "http/listener.hpp"

#include "http/socket_stream.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <string_view>

namespace http {

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

// Said to a connection beyond the per-address cap, without reading its request (that could block).
constexpr std::string_view kTooManyConnections =
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    "Content-Length: 39\r\n\r\nToo many connections from this address\n";

}  // namespace

Listener::Listener(const ConnectionSettings& settings, std::size_t max_connections_per_peer)
    : m_settings(settings), m_peers(max_connections_per_peer) {}

bool Listener::process_and_close_socket(socket_t sock) {
  std::string peer;
  int port = 0;
  socket_address(sock, true, peer, port);
  const bool capped = !m_settings.proxies.trusted(peer);
  if (!capped || m_peers.open(peer)) {
    serve_connection(sock, peer, svr_sock_, m_settings);
    if (capped) m_peers.close(peer);
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
