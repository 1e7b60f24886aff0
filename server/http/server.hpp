#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "http/connection_limits.hpp"
#include "metrics/metrics.hpp"

namespace httplib {
class Server;
}

namespace http {

class GuardedServer;

struct ServerOptions {
  std::string address = "127.0.0.1:8080";  ///< host:port or :port (all interfaces)
  std::int64_t max_body_bytes = 8 * 1024 * 1024;
  int threads = 64;
  /// Deadlines and the per-address cap; the server sets `on_closed` (a metric).
  ConnectionLimits connections;
};

/// The HTTP listener: limits, deadlines (GuardedServer), and one log line plus one
/// metric per request. Routes are mounted on raw() by their owners before listen().
class Server {
 public:
  Server(ServerOptions options, metrics::Metrics& metrics);
  ~Server();

  httplib::Server& raw();

  /// Binds the address; fails with a sentence when it cannot.
  core::Result<void> bind();
  /// The port actually bound (useful with port 0).
  [[nodiscard]] int port() const { return m_port; }
  /// Serves until stop() is called. Blocks.
  void run();
  /// Stops accepting and makes run() return.
  void stop();

 private:
  ServerOptions m_options;
  std::unique_ptr<GuardedServer> m_server;
  std::string m_host;
  int m_port = 0;
};

/// Splits "host:port" or ":port" (host 0.0.0.0) or "[v6]:port".
core::Result<std::pair<std::string, int>> parse_listen_address(const std::string& address);

/// The metric label for a path: its first segment (/mcp, /files, ...), or "other".
std::string route_label(const std::string& path);

}  // namespace http
