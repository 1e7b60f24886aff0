#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "http/connection_limits.hpp"
#include "http/message.hpp"
#include "http/request_head.hpp"
#include "http/router.hpp"
#include "http/trusted_proxies.hpp"
#include "metrics/metrics.hpp"

namespace http {

struct ServerOptions {
  std::string address = "127.0.0.1:8080";  ///< host:port or :port (all interfaces)
  std::int64_t max_body_bytes = 8 * 1024 * 1024;
  int threads = 64;
  /// Deadlines and the per-address cap; the server sets `on_closed` (a metric).
  ConnectionLimits connections;
  /// Budgets of a request head; max_body_bytes above replaces its body budget.
  HeadLimits head;
  /// Proxies whose CF-Connecting-IP / X-Forwarded-For are believed.
  TrustedProxies trusted_proxies;
};

/// The HTTP/1.1 server: the listener, worker threads started on demand, deadlines, the
/// per-address cap, our own strict request parsing (nothing of a body is read until a handler asks),
/// and one log line plus one metric per request. Routes are added before listen(); handlers see
/// only the types of http/message.hpp.
class Server {
 public:
  Server(ServerOptions options, metrics::Metrics& metrics);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The routes; add to them before run() (GET routes answer HEAD too).
  Router& routes();
  /// Serves `method` on exactly `path`.
  void route(std::string method, std::string path, Handler handler) {
    routes().add(std::move(method), std::move(path), std::move(handler));
  }

  /// Binds the address; fails with a sentence when it cannot.
  core::Result<void> bind();
  /// The port actually bound (useful with port 0).
  [[nodiscard]] int port() const { return m_port; }
  /// Serves until stop() is called. Blocks.
  void run();
  /// Stops accepting and makes run() return.
  void stop();

 private:
  struct Parts;
  ServerOptions m_options;
  std::unique_ptr<Parts> m_parts;
  int m_port = 0;
};

/// Splits "host:port" or ":port" (host 0.0.0.0) or "[v6]:port".
core::Result<std::pair<std::string, int>> parse_listen_address(const std::string& address);

/// The metric label for a path: its first segment (/mcp, /files, ...), or "other".
std::string route_label(const std::string& path);

}  // namespace http
