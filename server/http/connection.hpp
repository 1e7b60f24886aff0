#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>

#include "http/connection_limits.hpp"
#include "http/request_head.hpp"
#include "http/router.hpp"
#include "http/trusted_proxies.hpp"

namespace http {

/// What the server logs and counts of each answered request.
struct RequestRecord {
  std::string method;  ///< "-" when the head could not be parsed
  std::string path;    ///< as sent (never the query: it carries download signatures); "-" likewise
  std::string client;
  int status = 0;
  bool routed = false;  ///< whether a route took the request (false: refused or not found)
};

/// Everything one connection needs from its server. Lives as long as the server.
struct ConnectionSettings {
  const Router& router;
  const ConnectionLimits& limits;
  HeadLimits head_limits;
  const TrustedProxies& proxies;
  std::size_t keep_alive_requests = 100;
  std::function<void(const RequestRecord&)> on_request;
};

/// Told when a kept-alive connection starts and stops waiting for its next request, so that it can
/// be closed to make room while it does nothing (PeerConnections).
class IdleWatcher {
 public:
  virtual void idle(int sock) = 0;
  /// False when the connection was closed to make room while it waited: it is over.
  virtual bool busy(int sock) = 0;

 protected:
  ~IdleWatcher() = default;
};

/// Serves one accepted connection: reads each request head with our strict parser (nothing is
/// read past it until a handler asks for the body), routes it, writes the response, and keeps the
/// connection for another request only when this one was framed unambiguously and its body read to
/// the end. After a refusal whose body was never read the connection is closed with a lingering
/// close (the client reads the refusal instead of a reset). Returns when the connection is done;
/// the caller closes the socket. `peer` is the socket's peer address (socket_address()); `idle`, when
/// given, is told each wait for a next request.
void serve_connection(int sock, std::string peer, const std::atomic<int>& listening,
                      const ConnectionSettings& settings, IdleWatcher* idle = nullptr);

}  // namespace http
