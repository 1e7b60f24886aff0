#include "http/server.hpp"

#include "core/encoding.hpp"
#include "http/listener.hpp"
#include "http/router.hpp"
#include "http/worker_pool.hpp"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <charconv>

namespace http {

core::Result<std::pair<std::string, int>> parse_listen_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) {
    return core::fail(core::ErrorKind::invalid_argument, "MCP_HTTP_ADDR must be host:port or :port, got '" + address + "'");
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  const auto digits = std::string_view(address).substr(colon + 1);
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (digits.empty() || parsed.ec != std::errc() || parsed.ptr != digits.data() + digits.size() || port < 0 ||
      port > 65535) {
    return core::fail(core::ErrorKind::invalid_argument, "MCP_HTTP_ADDR has a bad port: '" + address + "'");
  }
  return std::make_pair(host, port);
}

std::string route_label(const std::string& path) {
  static const char* const kRoutes[] = {"/mcp", "/sse", "/messages", "/files", "/healthz", "/readyz", "/metrics"};
  for (const char* route : kRoutes) {
    const std::string_view r(route);
    if (path.rfind(r, 0) == 0 && (path.size() == r.size() || path[r.size()] == '/' || path[r.size()] == '?')) {
      return route;
    }
  }
  return "other";
}

namespace {

// A worker idle this long ends (its stack goes back to the kernel). Kept-alive connections idle
// 5 s, so a burst of clients is released about 10 s after it ends; a new connection then pays one
// thread start (~50 us).
constexpr std::chrono::seconds kWorkerIdleExit{5};
// A kept-alive connection serves this many requests, then closes: each reconnect costs a handshake
// and a worker hand-off (tools/list under wrk: 8-9k req/s at 5, 10-11k at 100). The cap does not
// change what a connection may hold: an idle one holds its worker until idle_timeout either way.
constexpr std::size_t kKeepAliveRequests = 100;

}  // namespace

struct Server::Parts {
  Parts(const ServerOptions& options, metrics::Metrics& metrics)
      : limits(options.connections),
        settings{router, limits, options.head, options.trusted_proxies, kKeepAliveRequests, {}},
        listener(settings, options.connections.max_connections_per_peer) {
    limits.on_closed = [&metrics, also = options.connections.on_closed](std::string_view reason) {
      metrics.connection_refused(reason);
      if (also) also(reason);
    };
    settings.head_limits.max_body_bytes = static_cast<std::uint64_t>(options.max_body_bytes);
    settings.on_request = [&metrics](const RequestRecord& record) {
      const auto route = route_label(record.path);
      metrics.http_request(route, record.status);
      // The path only: query strings carry download signatures, and file names are the user's.
      spdlog::info("http {} {} {} from {}", core::printable(record.method, 16),
                   route == "/files" ? "/files/…" : core::printable(record.path),
                   record.status, record.client);
    };
  }
  Router router;
  ConnectionLimits limits;
  ConnectionSettings settings;
  Listener listener;
};

Server::Server(ServerOptions options, metrics::Metrics& metrics)
    : m_options(std::move(options)), m_parts(std::make_unique<Parts>(m_options, metrics)) {
  auto& listener = m_parts->listener;
  const auto threads = static_cast<std::size_t>(m_options.threads);
  // Every open SSE stream holds a worker thread, so the cap is sized for streams, not CPUs;
  // workers start on demand and end when idle (WorkerPool).
  // When they are all taken, an idle kept-alive connection is closed to free one (Listener::make_room).
  listener.new_task_queue = [threads, &listener] {
    return new WorkerPool(threads, kWorkerIdleExit, [&listener] { listener.make_room(); });
  };
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the
  // same port and silently take half the requests (and half the sessions).
  listener.set_socket_options([](int socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Headers and body go out in separate writes: with Nagle on, a small answer
  // waits for the client's delayed ACK (~40 ms per request on loopback).
  listener.set_tcp_nodelay(true);
}

Server::~Server() = default;

Router& Server::routes() { return m_parts->router; }

core::Result<void> Server::bind() {
  auto& listener = m_parts->listener;
  auto address = parse_listen_address(m_options.address);
  if (!address) return core::fail(address.error());
  const std::string host = address->first;
  if (address->second == 0) {
    m_port = listener.bind_to_any_port(host);
    if (m_port < 0) return core::fail(core::ErrorKind::unavailable, "cannot listen on " + host);
  } else if (listener.bind_to_port(host, address->second)) {
    m_port = address->second;
  } else {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot listen on " + m_options.address + " (in use, or not allowed); set MCP_HTTP_ADDR");
  }
  if (!listener.widen_backlog()) {
    spdlog::warn("cannot widen the listen backlog; bursts of connections may wait a second");
  }
  return {};
}

void Server::run() { m_parts->listener.listen_after_bind(); }

void Server::stop() { m_parts->listener.stop(); }

}  // namespace http
