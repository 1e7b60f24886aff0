#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include "http/listener.hpp"
#include "http/server.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A raw TCP connection from `source` (any 127.x address is loopback on Linux, so a test can play
// several peers) to 127.0.0.1:port.
class RawConnection {
 public:
  RawConnection(const char* source, int port) : m_fd(::socket(AF_INET, SOCK_STREAM, 0)), m_source(source) {
    sockaddr_in from{};
    from.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &from.sin_addr);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&from), sizeof(from)) == 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    REQUIRE(::connect(m_fd, reinterpret_cast<sockaddr*>(&to), sizeof(to)) == 0);
  }
  ~RawConnection() { ::close(m_fd); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  [[nodiscard]] const std::string& source() const { return m_source; }

  bool send(std::string_view data) { return ::send(m_fd, data.data(), data.size(), MSG_NOSIGNAL) == ssize_t(data.size()); }

  /// What the server sends until `text` is among it (or 5 s pass).
  std::string read_until(std::string_view text) {
    std::string data;
    bool closed = false;
    const auto deadline = Clock::now() + 5s;
    while (data.find(text) == std::string::npos && !closed && Clock::now() < deadline) {
      data += read_until_closed(100ms, closed);
    }
    return data;
  }

  /// Everything the server sends until it closes the connection or `timeout` passes; `closed` says which.
  std::string read_until_closed(std::chrono::milliseconds timeout, bool& closed) {
    std::string data;
    const auto deadline = Clock::now() + timeout;
    closed = false;
    while (Clock::now() < deadline) {
      pollfd entry{m_fd, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (::poll(&entry, 1, static_cast<int>(left.count())) <= 0) break;
      char buffer[4096];
      const auto n = ::recv(m_fd, buffer, sizeof(buffer), 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      data.append(buffer, static_cast<std::size_t>(n));
    }
    return data;
  }

 private:
  int m_fd;
  std::string m_source;
};

// Our HTTP server with two routes on a free port, running until destroyed.
class ServerFixture {
 public:
  explicit ServerFixture(http::ConnectionLimits limits, int threads = 8, http::TrustedProxies proxies = {}) {
    limits.on_closed = [this](std::string_view reason) {
      (reason == "per_peer"        ? per_peer
       : reason == "framing"       ? framing
       : reason == "idle_for_room" ? idle_for_room
                                   : read_deadline)++;
    };
    http::ServerOptions options;
    options.address = "127.0.0.1:0";
    options.threads = threads;
    options.max_body_bytes = 1 << 20;
    options.connections = std::move(limits);
    options.trusted_proxies = std::move(proxies);
    m_server = std::make_unique<http::Server>(std::move(options), m_metrics);
    m_server->route("GET", "/ping", [](http::Request& request, http::Response& response) {
      response.set_content("pong from " + request.peer().client, "text/plain");
    });
    m_server->route("POST", "/echo", [this](http::Request& request, http::Response& response) {
      ++echo_calls;
      const auto& body = request.body();
      if (!body) {
        response.status = body.error().status;
        return;
      }
      response.set_content(*body, "text/plain");
    });
    m_server->route("POST", "/ignore", [](http::Request&, http::Response& response) { response.status = 401; });
    // 64 MiB produced while sent; notes when a write failed (the client is gone or too slow).
    m_server->route("GET", "/big", [this](http::Request&, http::Response& response) {
      response.stream = [this](http::BodyWriter& out) {
        const std::string piece(256 * 1024, 'b');
        for (int i = 0; i < 256; ++i) {
          if (!out.write(piece)) {
            stream_failed = true;
            return;
          }
        }
      };
    });
    // A file sent with BodyWriter::write_file: ?from=N&length=N, announced or chunked.
    m_server->route("GET", "/file", [this](http::Request& request, http::Response& response) {
      const auto from = std::stoull(request.query_param("from"));
      const auto length = std::stoull(request.query_param("length"));
      if (request.query_param("chunked").empty()) response.stream_length = length;
      const int fd = ::open(file_path.c_str(), O_RDONLY | O_CLOEXEC);
      response.stream = [this, fd, from, length](http::BodyWriter& out) {
        if (!out.write_file(fd, from, length)) stream_failed = true;
        ::close(fd);
      };
    });
    REQUIRE(m_server->bind());
    port = m_server->port();
    m_thread = std::thread([this] { m_server->run(); });
  }
  ~ServerFixture() {
    // stop() needs the accept loop running: wait until it answers.
    while (!httplib::Client("127.0.0.1", port).Get("/ping")) std::this_thread::yield();
    m_server->stop();
    m_thread.join();
  }
  ServerFixture(const ServerFixture&) = delete;
  ServerFixture& operator=(const ServerFixture&) = delete;

  int port = 0;
  std::atomic<int> per_peer{0};
  std::atomic<int> read_deadline{0};
  std::atomic<int> framing{0};
  std::atomic<int> idle_for_room{0};
  std::atomic<int> echo_calls{0};
  std::atomic<bool> stream_failed{false};
  std::string file_path;  ///< what /file sends

 private:
  metrics::Metrics m_metrics;
  std::unique_ptr<http::Server> m_server;
  std::thread m_thread;
};

// One GET /ping on `connection`, answered with 200, read to its end (the connection then stays kept alive).
void ping(RawConnection& connection) {
  REQUIRE(connection.send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK_THAT(connection.read_until("pong from " + connection.source()), Catch::Contains("200 OK"));
}

http::ConnectionLimits fast_limits() {
  http::ConnectionLimits limits;
  limits.header_timeout = 1s;
  limits.body_timeout = 1s;
  limits.read_timeout = 5s;
  limits.write_timeout = 5s;
  limits.idle_timeout = 5s;
  return limits;
}

}  // namespace

TEST_CASE("peer connections: a cap per address, 0 for none", "[http_server]") {
  http::PeerConnections peers(2);
  CHECK(peers.open(10, "a"));
  CHECK(peers.open(11, "a"));
  CHECK_FALSE(peers.open(12, "a"));
  CHECK(peers.open(13, "b"));
  CHECK(peers.open(14, "a", /*capped=*/false));
  CHECK(peers.count("a") == 2);
  peers.close(10);
  CHECK(peers.count("a") == 1);
  CHECK(peers.open(12, "a"));
  http::PeerConnections unlimited(0);
  for (int i = 0; i < 100; ++i) REQUIRE(unlimited.open(100 + i, "a"));
}

TEST_CASE("peer connections: at the cap, the address's longest-idle connection makes room", "[http_server]") {
  int made_room = 0;
  http::PeerConnections peers(2, [&] { ++made_room; });
  // Real sockets: making room shuts the idle one down, which its worker would see.
  int a[2];
  int b[2];
  int c[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, c) == 0);
  REQUIRE(peers.open(a[0], "p"));
  REQUIRE(peers.open(b[0], "p"));
  REQUIRE(peers.open(c[0], "other"));
  peers.idle(c[0]);  // another address's idle connection is not this address's room

  CHECK_FALSE(peers.open(50, "p"));  // both busy: refused
  peers.idle(b[0]);
  peers.idle(a[0]);  // b has been idle longer
  CHECK(peers.open(50, "p"));
  CHECK(made_room == 1);
  CHECK(peers.count("p") == 2);
  CHECK_FALSE(peers.busy(b[0]));  // b is over: its worker stops serving it
  CHECK(peers.busy(a[0]));        // a got its request in time and goes on
  char byte;
  CHECK(::recv(b[1], &byte, 1, 0) == 0);  // the client of b sees the connection end
  peers.close(b[0]);
  CHECK(peers.count("p") == 2);  // b's slot went to 50 already

  // Every worker taken: the longest-idle connection of any address goes.
  CHECK(peers.close_longest_idle());
  CHECK_FALSE(peers.busy(c[0]));
  CHECK_FALSE(peers.close_longest_idle());
  for (int fd : {a[0], a[1], b[0], b[1], c[0], c[1]}) ::close(fd);
}

TEST_CASE("peer connections: an idle connection whose next request has arrived is not closed for room",
          "[http_server]") {
  // Its worker marks it busy only when it wakes to read; until then the bytes wait in the socket,
  // and closing it would lose that request.
  http::PeerConnections peers(1);
  int a[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
  REQUIRE(peers.open(a[0], "p"));
  peers.idle(a[0]);
  REQUIRE(::send(a[1], "GET / HTTP/1.1\r\n", 16, 0) == 16);
  CHECK_FALSE(peers.open(50, "p"));         // refused rather than make room
  CHECK_FALSE(peers.close_longest_idle());  // nor closed for a worker
  CHECK(peers.busy(a[0]));                  // its worker goes on to read the request
  for (int fd : a) ::close(fd);
}

TEST_CASE("http server: serves ordinary requests, keep-alive included", "[http_server]") {
  ServerFixture server(fast_limits());
  httplib::Client client("127.0.0.1", server.port);
  client.set_keep_alive(true);
  for (int i = 0; i < 3; ++i) {
    auto result = client.Get("/ping");
    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(result->body == "pong from 127.0.0.1");
    // Clients' pools drop a kept-alive connection before the server's idle deadline (5 s) closes it.
    CHECK(result->get_header_value("Keep-Alive") == "timeout=4");
    CHECK_FALSE(result->has_header("Connection"));
  }
  auto echoed = client.Post("/echo", std::string(100000, 'x'), "text/plain");
  REQUIRE(echoed);
  CHECK(echoed->body.size() == 100000);
}

TEST_CASE("http server: headers trickling in a byte at a time are cut off at the deadline",
          "[http_server]") {
  ServerFixture server(fast_limits());
  RawConnection slow("127.0.0.1", server.port);
  const auto started = Clock::now();
  const std::string request = "GET /ping HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(1000, 'a');
  bool closed = false;
  for (char c : request) {
    // Every byte arrives well within any per-read timeout; only a total deadline stops this.
    if (!slow.send(std::string_view(&c, 1))) {
      closed = true;
      break;
    }
    std::string ignored = slow.read_until_closed(50ms, closed);
    if (closed) break;
  }
  const auto took = Clock::now() - started;
  CHECK(closed);
  CHECK(took >= 900ms);
  CHECK(took < 3s);
  CHECK(server.read_deadline >= 1);
}

TEST_CASE("http server: a body trickling in is cut off at the body deadline", "[http_server]") {
  ServerFixture server(fast_limits());
  RawConnection slow("127.0.0.1", server.port);
  REQUIRE(slow.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\n"));
  const auto started = Clock::now();
  bool closed = false;
  for (int i = 0; i < 1000 && !closed; ++i) {
    if (!slow.send("b")) break;
    slow.read_until_closed(50ms, closed);
  }
  CHECK(closed);
  CHECK(Clock::now() - started < 3s);
}

TEST_CASE("http server: a connection that sends nothing is closed at the header deadline", "[http_server]") {
  ServerFixture server(fast_limits());
  RawConnection silent("127.0.0.1", server.port);
  bool closed = false;
  silent.read_until_closed(3s, closed);
  CHECK(closed);
  CHECK(server.read_deadline == 1);
}

TEST_CASE("http server: connections beyond the per-address cap get 429 at once", "[http_server]") {
  auto limits = fast_limits();
  limits.header_timeout = 10s;
  limits.max_connections_per_peer = 2;
  ServerFixture server(limits);
  RawConnection first("127.0.0.2", server.port);
  RawConnection second("127.0.0.2", server.port);
  // An answered request proves a worker took (and counted) each; both then start another request
  // and stay in the middle of it.
  for (RawConnection* connection : {&first, &second}) {
    ping(*connection);
    REQUIRE(connection->send("GET /ping HTTP/1.1\r\nX-Slow: "));
  }
  RawConnection third("127.0.0.2", server.port);
  bool closed = false;
  const auto refused = third.read_until_closed(5s, closed);
  CHECK(closed);
  CHECK_THAT(refused, Catch::StartsWith("HTTP/1.1 429 Too Many Requests"));
  CHECK(server.per_peer == 1);
  // Another address is served meanwhile.
  httplib::Client client("127.0.0.1", server.port);
  auto result = client.Get("/ping");
  REQUIRE(result);
  CHECK(result->status == 200);
}

TEST_CASE("http server: at the per-address cap, an idle kept-alive connection of that address makes room",
          "[http_server]") {
  auto limits = fast_limits();
  limits.idle_timeout = 30s;  // idle connections would otherwise stay for the whole test
  limits.max_connections_per_peer = 2;
  ServerFixture server(limits);
  RawConnection first("127.0.0.2", server.port);
  RawConnection second("127.0.0.2", server.port);
  ping(first);
  ping(second);
  // Both are kept alive and idle; a third connection from the address is served, not refused.
  RawConnection third("127.0.0.2", server.port);
  ping(third);
  CHECK(server.per_peer == 0);
  CHECK(server.idle_for_room == 1);
  // The one idle longest (the first) was closed: its client reads the end of the connection.
  bool closed = false;
  CHECK(first.read_until_closed(2s, closed).empty());
  CHECK(closed);
  // The second is still kept alive and serves its next request.
  ping(second);
}

TEST_CASE("http server: with every worker taken, an idle kept-alive connection frees one", "[http_server]") {
  auto limits = fast_limits();
  limits.idle_timeout = 30s;
  ServerFixture server(limits, /*threads=*/2);
  RawConnection first("127.0.0.2", server.port);
  RawConnection second("127.0.0.3", server.port);
  ping(first);
  ping(second);
  // Both workers wait on idle connections; a third client is answered well before the idle timeout.
  RawConnection third("127.0.0.4", server.port);
  const auto started = Clock::now();
  ping(third);
  CHECK(Clock::now() - started < 5s);
  CHECK(server.idle_for_room >= 1);
  bool closed = false;
  CHECK(first.read_until_closed(2s, closed).empty());
  CHECK(closed);
}

TEST_CASE("http server: many slow connections from one address leave workers for others",
          "[http_server]") {
  auto limits = fast_limits();
  limits.header_timeout = 30s;  // the slow ones stay for the whole test
  limits.max_connections_per_peer = 3;
  ServerFixture server(limits, /*threads=*/4);
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 12; ++i) {
    slow.push_back(std::make_unique<RawConnection>("127.0.0.3", server.port));
    slow.back()->send("GET /ping HTTP/1.1\r\nX-Slow: ");
  }
  httplib::Client client("127.0.0.1", server.port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(2, 0);
  const auto started = Clock::now();
  auto result = client.Get("/ping");
  REQUIRE(result);
  CHECK(result->status == 200);
  CHECK(Clock::now() - started < 1s);
  CHECK(server.per_peer >= 1);
}

TEST_CASE("http server: refused framing is answered at once and the connection closed, body unread",
          "[http_server][framing]") {
  auto limits = fast_limits();
  limits.body_timeout = 10s;  // a refusal must not wait for a body
  ServerFixture server(limits);
  struct Case {
    const char* headers;
    const char* status;
  };
  const Case cases[] = {
      {"Content-Length: 5\r\nContent-Length: 6\r\n", "HTTP/1.1 400 "},
      {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "HTTP/1.1 400 "},
      {"Content-Length: -1\r\n", "HTTP/1.1 400 "},
      {"Transfer-Encoding: gzip, chunked\r\n", "HTTP/1.1 501 "},
      {"Content-Length: 10737418240\r\n", "HTTP/1.1 413 "},
  };
  int refusals = 0;
  for (const auto& [headers, status] : cases) {
    INFO(headers);
    RawConnection client("127.0.0.1", server.port);
    const auto started = Clock::now();
    // The "body" after the head is a second request: a server that framed this one differently
    // would answer it (the smuggling these checks stop).
    REQUIRE(client.send(std::string("POST /echo HTTP/1.1\r\nHost: x\r\n") + headers +
                        "\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
    bool closed = false;
    const auto answer = client.read_until_closed(3s, closed);
    CHECK(answer.rfind(status, 0) == 0);
    CHECK(answer.find("Connection: close") != std::string::npos);
    CHECK(answer.find("pong") == std::string::npos);
    CHECK(closed);
    CHECK(Clock::now() - started < 2s);
    ++refusals;
  }
  CHECK(server.framing == refusals);
}

TEST_CASE("http server: a POST with neither Content-Length nor Transfer-Encoding has an empty body",
          "[http_server][framing]") {
  auto limits = fast_limits();
  limits.body_timeout = 10s;
  ServerFixture server(limits);
  RawConnection client("127.0.0.1", server.port);
  const auto started = Clock::now();
  // Kept alive: httplib alone would read a body until the client closed.
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto answers = client.read_until("pong");
  CHECK(answers.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(answers.find("pong from 127.0.0.1") != std::string::npos);
  CHECK(Clock::now() - started < 2s);
}

TEST_CASE("http server: chunked bodies still work", "[http_server][framing]") {
  ServerFixture server(fast_limits());
  RawConnection client("127.0.0.1", server.port);
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  const auto answer = client.read_until("hello");
  CHECK(answer.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(answer.find("hello") != std::string::npos);
}

TEST_CASE("http server: a client still sending a refused body reads the 413, not a reset",
          "[http_server][framing]") {
  ServerFixture server(fast_limits());  // payload limit 1 MiB
  RawConnection client("127.0.0.1", server.port);
  const std::string body(4 << 20, 'b');
  // The whole body goes out before the client reads: the server answered after the head, and
  // must keep taking bytes until the client is done (or it would reset the connection).
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n"));
  REQUIRE(client.send(body));
  bool closed = false;
  const auto answer = client.read_until_closed(3s, closed);
  CHECK(answer.rfind("HTTP/1.1 413 ", 0) == 0);
  CHECK(closed);
}

TEST_CASE("http server: no body byte is read before a handler asks for it", "[http_server][front_door]") {
  ServerFixture server(fast_limits());
  // An unknown path and a handler that refuses without reading: answered after the head, the
  // connection closed, and the "body" (a second request here) never parsed.
  for (const char* path : {"/nowhere", "/ignore"}) {
    for (const char* framing : {"Content-Length: 60\r\n", "Transfer-Encoding: chunked\r\n"}) {
      INFO(path << " " << framing);
      RawConnection client("127.0.0.1", server.port);
      REQUIRE(client.send(std::string("POST ") + path + " HTTP/1.1\r\nHost: x\r\n" + framing +
                          "\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
      bool closed = false;
      const auto answer = client.read_until_closed(3s, closed);
      CHECK((answer.rfind("HTTP/1.1 404 ", 0) == 0 || answer.rfind("HTTP/1.1 401 ", 0) == 0));
      CHECK(answer.find("pong") == std::string::npos);
      CHECK(answer.find("Connection: close") != std::string::npos);
      CHECK(closed);
    }
  }
  CHECK(server.echo_calls == 0);
}

TEST_CASE("http server: a chunked body over the cap is refused as it crosses it", "[http_server][front_door]") {
  ServerFixture server(fast_limits());  // 1 MiB
  RawConnection client("127.0.0.1", server.port);
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "10000\r\n" + std::string(0x10000, 'c') + "\r\n";
  bool refused = false;
  std::string answer;
  for (int i = 0; i < 64 && !refused; ++i) {  // 4 MiB offered
    if (!client.send(chunk)) break;
    bool closed = false;
    answer += client.read_until_closed(10ms, closed);
    refused = answer.find("413") != std::string::npos || closed;
  }
  answer += client.read_until("413");
  CHECK(answer.rfind("HTTP/1.1 413 ", 0) == 0);
}

TEST_CASE("http server: a GET with a body is refused, never read as a second request", "[http_server][front_door]") {
  ServerFixture server(fast_limits());
  RawConnection client("127.0.0.1", server.port);
  const std::string smuggled = "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(client.send("GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
                      "\r\n\r\n" + smuggled));
  bool closed = false;
  const auto answer = client.read_until_closed(3s, closed);
  CHECK(answer.rfind("HTTP/1.1 400 ", 0) == 0);
  CHECK(answer.find("HTTP/1.1", 1) == std::string::npos);  // one response only
  CHECK(closed);
  CHECK(server.framing == 1);
}

TEST_CASE("http server: Expect 100-continue is answered only when the handler reads the body",
          "[http_server][front_door]") {
  ServerFixture server(fast_limits());
  {
    RawConnection client("127.0.0.1", server.port);
    REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    CHECK_THAT(client.read_until("100 Continue"), Catch::StartsWith("HTTP/1.1 100 Continue\r\n\r\n"));
    REQUIRE(client.send("hello"));
    CHECK_THAT(client.read_until("hello"), Catch::Contains("200 OK"));
  }
  RawConnection refused("127.0.0.1", server.port);
  REQUIRE(refused.send("POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  bool closed = false;
  const auto answer = refused.read_until_closed(3s, closed);
  CHECK(answer.rfind("HTTP/1.1 401 ", 0) == 0);
  CHECK(answer.find("100 Continue") == std::string::npos);
}

TEST_CASE("http server: pipelined requests are answered in order on one connection", "[http_server]") {
  ServerFixture server(fast_limits());
  RawConnection client("127.0.0.1", server.port);
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\ndef\r\n0\r\n\r\n"
                      "GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto answers = client.read_until("pong");
  const auto abc = answers.find("abc");
  const auto def = answers.find("def");
  CHECK(abc != std::string::npos);
  CHECK(def > abc);
  CHECK(answers.find("pong") > def);
}

TEST_CASE("http server: a trusted proxy's client address is what handlers see", "[http_server][front_door]") {
  ServerFixture server(fast_limits(), 8, http::TrustedProxies::parse({"127.0.0.5"}).value());
  RawConnection proxied("127.0.0.5", server.port);
  REQUIRE(proxied.send("GET /ping HTTP/1.1\r\nHost: x\r\nCF-Connecting-IP: 198.51.100.4\r\n\r\n"));
  CHECK_THAT(proxied.read_until("pong from"), Catch::Contains("pong from 198.51.100.4"));
  RawConnection direct("127.0.0.6", server.port);
  REQUIRE(direct.send("GET /ping HTTP/1.1\r\nHost: x\r\nCF-Connecting-IP: 198.51.100.4\r\n\r\n"));
  CHECK_THAT(direct.read_until("pong from"), Catch::Contains("pong from 127.0.0.6"));
}

TEST_CASE("http server: a client that does not read a download loses it at the write deadline", "[http_server][front_door]") {
  auto limits = fast_limits();
  limits.write_timeout = 1s;
  ServerFixture server(limits);
  RawConnection reader("127.0.0.1", server.port);
  REQUIRE(reader.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto started = Clock::now();
  // The client reads nothing: once the socket buffers are full, the next write misses its deadline.
  while (!server.stream_failed && Clock::now() - started < 10s) std::this_thread::sleep_for(50ms);
  CHECK(server.stream_failed);
  CHECK(Clock::now() - started < 5s);
}

namespace {

// A file of `size` bytes whose every byte says where it is (offset mod 251), so a slice can be checked.
std::string patterned(std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>(i % 251);
  return data;
}

// Writes `data` as the whole content of the file at `path`.
void write_whole(const std::filesystem::path& path, const std::string& data) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  REQUIRE(std::fwrite(data.data(), 1, data.size(), out) == data.size());
  std::fclose(out);
}

}  // namespace

TEST_CASE("http server: a file body goes out whole and exact, announced, chunked and from an offset",
          "[http_server]") {
  testing::TempDir dir;
  const auto data = patterned(3 * 1024 * 1024 + 17);
  const auto path = dir.path / "file.bin";
  write_whole(path, data);
  ServerFixture server(fast_limits());
  server.file_path = path.string();
  httplib::Client client("127.0.0.1", server.port);
  auto whole = client.Get(("/file?from=0&length=" + std::to_string(data.size())).c_str());
  REQUIRE(whole);
  CHECK(whole->get_header_value("Content-Length") == std::to_string(data.size()));
  CHECK(whole->body == data);
  auto slice = client.Get("/file?from=1000&length=70000");
  REQUIRE(slice);
  CHECK(slice->body == data.substr(1000, 70000));
  auto chunked = client.Get("/file?from=5&length=2000000&chunked=1");
  REQUIRE(chunked);
  CHECK(chunked->get_header_value("Transfer-Encoding") == "chunked");
  CHECK(chunked->body == data.substr(5, 2000000));
  CHECK_FALSE(server.stream_failed);

  // A file shorter than announced (it shrank under us): the response ends, never padded.
  bool closed = false;
  RawConnection raw("127.0.0.1", server.port);
  REQUIRE(raw.send("GET /file?from=0&length=" + std::to_string(data.size() + 10) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got = raw.read_until("\r\n\r\n");
  while (!closed) got += raw.read_until_closed(5s, closed);
  CHECK(closed);
  CHECK(got.size() - got.find("\r\n\r\n") - 4 == data.size());
  CHECK(server.stream_failed);
}

TEST_CASE("http server: a client that goes away mid-file costs the server nothing (no SIGPIPE)", "[http_server]") {
  testing::TempDir dir;
  const auto data = patterned(32 * 1024 * 1024);
  const auto path = dir.path / "file.bin";
  write_whole(path, data);
  ServerFixture server(fast_limits());
  server.file_path = path.string();
  for (int i = 0; i < 3; ++i) {
    auto reader = std::make_unique<RawConnection>("127.0.0.1", server.port);
    REQUIRE(reader->send("GET /file?from=0&length=" + std::to_string(data.size()) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    (void)reader->read_until("\r\n\r\n");
    reader.reset();  // closed with most of the body unread: the server's next send fails
  }
  const auto started = Clock::now();
  while (!server.stream_failed && Clock::now() - started < 10s) std::this_thread::sleep_for(20ms);
  CHECK(server.stream_failed);
  // Still serving (a SIGPIPE would have ended this process).
  auto pong = httplib::Client("127.0.0.1", server.port).Get("/ping");
  REQUIRE(pong);
  CHECK(pong->status == 200);
}
