#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <thread>

#include <httplib.h>

namespace test {

/// An HTTP server on 127.0.0.1 (a free port) standing in for the Docker engine: it answers
/// GET /_ping with `api_version` in the Api-Version header, plus whatever `routes` adds.
class FakeHttpEngine {
 public:
  /// Starts serving at once; `routes` registers handlers first (httplib's routes are not thread-safe).
  explicit FakeHttpEngine(const std::function<void(httplib::Server&)>& routes, std::string api_version = "1.41");
  ~FakeHttpEngine();
  FakeHttpEngine(const FakeHttpEngine&) = delete;
  FakeHttpEngine& operator=(const FakeHttpEngine&) = delete;

  /// The endpoint to pass as EngineOptions::host ("tcp://127.0.0.1:PORT").
  [[nodiscard]] std::string host() const;

 private:
  httplib::Server m_server;
  int m_port = 0;
  std::thread m_thread;
};

/// A TCP socket bound to a free port on 127.0.0.1. As long as nobody listens on it, connections are
/// refused: the stand-in for "no engine there". RawServer listens on one.
class LoopbackPort {
 public:
  LoopbackPort();
  ~LoopbackPort();
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  /// The socket.
  [[nodiscard]] int fd() const { return m_fd; }
  /// The endpoint to pass as EngineOptions::host ("tcp://127.0.0.1:PORT").
  [[nodiscard]] std::string host() const;

 private:
  int m_fd = -1;
  int m_port = 0;
};

/// A TCP server on 127.0.0.1 that runs `session` on each accepted connection in turn (then closes it):
/// for answers no HTTP library would give (hang-ups, hijacked streams).
class RawServer {
 public:
  /// Starts accepting at once.
  explicit RawServer(std::function<void(int fd)> session);
  ~RawServer();

  /// The endpoint to pass as EngineOptions::host ("tcp://127.0.0.1:PORT").
  [[nodiscard]] std::string host() const { return m_port.host(); }

 private:
  LoopbackPort m_port;
  std::function<void(int)> m_session;
  std::thread m_thread;
};

/// Reads from `fd` up to and including the blank line that ends an HTTP request head.
std::string read_request_head(int fd);
/// Answers `head` like a 1.41 engine and returns true when it is GET /_ping; false for any other request.
bool answer_ping(int fd, std::string_view head);
/// Reads from `fd` until EOF, at most `limit` bytes; returns what was read.
std::string read_to_eof(int fd, std::size_t limit);
/// Writes all of `data` to `fd` (blocking); false when the peer has gone.
bool write_all(int fd, std::string_view data);
/// One frame of Docker's multiplexed stream: 8-byte header (stream id, big-endian length) and payload.
std::string frame(unsigned char stream, std::string_view payload);

}  // namespace test
