#include "http/server.hpp"

#include "http/guarded_server.hpp"
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
constexpr std::size_t kKeepAliveRequests = 100;

ConnectionLimits connection_limits(const ServerOptions& options, metrics::Metrics& metrics) {
  ConnectionLimits limits = options.connections;
  limits.on_closed = [&metrics](std::string_view reason) { metrics.connection_refused(reason); };
  return limits;
}

}  // namespace

Server::Server(ServerOptions options, metrics::Metrics& metrics)
    : m_options(std::move(options)),
      m_server(std::make_unique<GuardedServer>(connection_limits(m_options, metrics))) {
  const auto threads = static_cast<std::size_t>(m_options.threads);
  // Every open SSE stream holds a worker thread, so the cap is sized for streams, not CPUs;
  // workers start on demand and end when idle (WorkerPool).
  m_server->new_task_queue = [threads] { return new WorkerPool(threads, kWorkerIdleExit); };
  // httplib's default sets SO_REUSEPORT, which lets a second server bind the
  // same port and silently take half the requests (and half the sessions).
  m_server->set_socket_options([](int socket) {
    const int yes = 1;
    ::setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // httplib writes headers and body separately: with Nagle on, a small answer
  // waits for the client's delayed ACK (~40 ms per request on loopback).
  m_server->set_tcp_nodelay(true);
  m_server->set_payload_max_length(static_cast<std::size_t>(m_options.max_body_bytes));
  const auto& connections = m_options.connections;
  m_server->set_read_timeout(connections.read_timeout);
  m_server->set_write_timeout(connections.write_timeout);
  m_server->set_keep_alive_timeout(std::chrono::ceil<std::chrono::seconds>(connections.idle_timeout).count());
  // httplib closes a kept-alive connection after 5 requests; each reconnect costs a handshake and a
  // worker hand-off (tools/list under wrk: 8-9k req/s at 5, 10-11k at 100). The cap does not change
  // what a connection may hold: an idle one holds its worker until idle_timeout either way.
  m_server->set_keep_alive_max_count(kKeepAliveRequests);
  m_server->set_logger([&metrics](const httplib::Request& request, const httplib::Response& response) {
    const auto route = route_label(request.path);
    metrics.http_request(route, response.status);
    // The path only: query strings carry download signatures.
    spdlog::info("http {} {} {} from {}", request.method, route == "/files" ? "/files/…" : request.path,
                 response.status, request.remote_addr);
  });
  m_server->set_exception_handler([](const httplib::Request& request, httplib::Response& response,
                                     std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const std::exception& e) {
      spdlog::error("http {} {}: unhandled exception: {}", request.method, request.path, e.what());
    } catch (...) {
      spdlog::error("http {} {}: unhandled exception", request.method, request.path);
    }
    response.status = 500;
    response.set_content("internal error\n", "text/plain");
  });
}

Server::~Server() = default;

httplib::Server& Server::raw() { return *m_server; }

core::Result<void> Server::bind() {
  auto address = parse_listen_address(m_options.address);
  if (!address) return core::fail(address.error());
  m_host = address->first;
  if (address->second == 0) {
    m_port = m_server->bind_to_any_port(m_host);
    if (m_port < 0) return core::fail(core::ErrorKind::unavailable, "cannot listen on " + m_host);
  } else if (m_server->bind_to_port(m_host, address->second)) {
    m_port = address->second;
  } else {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot listen on " + m_options.address + " (in use, or not allowed); set MCP_HTTP_ADDR");
  }
  if (!m_server->widen_backlog()) {
    spdlog::warn("cannot widen the listen backlog; bursts of connections may wait a second");
  }
  return {};
}

void Server::run() { m_server->listen_after_bind(); }

void Server::stop() { m_server->stop(); }

}  // namespace http
