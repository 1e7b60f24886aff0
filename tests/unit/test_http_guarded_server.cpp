#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "http/guarded_server.hpp"
#include "http/request_framing.hpp"

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// A raw TCP connection from `source` (any 127.x address is loopback on Linux, so a test can play
// several peers) to 127.0.0.1:port.
class RawConnection {
 public:
  RawConnection(const char* source, int port) : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
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
};

// A GuardedServer with one route on a free port, running until destroyed.
class GuardedFixture {
 public:
  explicit GuardedFixture(http::ConnectionLimits limits, std::size_t threads = 8) {
    limits.on_closed = [this](std::string_view reason) {
      (reason == "per_peer" ? per_peer : reason == "framing" ? framing : read_deadline)++;
    };
    m_server = std::make_unique<http::GuardedServer>(std::move(limits));
    m_server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    m_server->set_payload_max_length(1 << 20);
    m_server->Get("/ping", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content("pong from " + request.remote_addr, "text/plain");
    });
    m_server->Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
      response.set_content(request.body, "text/plain");
    });
    port = m_server->bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    REQUIRE(m_server->widen_backlog());
    m_thread = std::thread([this] { m_server->listen_after_bind(); });
    while (!m_server->is_running()) std::this_thread::yield();
  }
  ~GuardedFixture() {
    m_server->stop();
    m_thread.join();
  }
  GuardedFixture(const GuardedFixture&) = delete;
  GuardedFixture& operator=(const GuardedFixture&) = delete;

  int port = 0;
  std::atomic<int> per_peer{0};
  std::atomic<int> read_deadline{0};
  std::atomic<int> framing{0};

 private:
  std::unique_ptr<http::GuardedServer> m_server;
  std::thread m_thread;
};

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

TEST_CASE("peer connections: a cap per address, 0 for none", "[guarded_server]") {
  http::PeerConnections peers(2);
  CHECK(peers.open("a"));
  CHECK(peers.open("a"));
  CHECK_FALSE(peers.open("a"));
  CHECK(peers.open("b"));
  CHECK(peers.count("a") == 2);
  peers.close("a");
  CHECK(peers.open("a"));
  http::PeerConnections unlimited(0);
  for (int i = 0; i < 100; ++i) REQUIRE(unlimited.open("a"));
}

TEST_CASE("guarded server: serves ordinary requests, keep-alive included", "[guarded_server]") {
  GuardedFixture server(fast_limits());
  httplib::Client client("127.0.0.1", server.port);
  for (int i = 0; i < 3; ++i) {
    auto result = client.Get("/ping");
    REQUIRE(result);
    CHECK(result->status == 200);
    CHECK(result->body == "pong from 127.0.0.1");
  }
  auto echoed = client.Post("/echo", std::string(100000, 'x'), "text/plain");
  REQUIRE(echoed);
  CHECK(echoed->body.size() == 100000);
}

TEST_CASE("guarded server: headers trickling in a byte at a time are cut off at the deadline",
          "[guarded_server]") {
  GuardedFixture server(fast_limits());
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

TEST_CASE("guarded server: a body trickling in is cut off at the body deadline", "[guarded_server]") {
  GuardedFixture server(fast_limits());
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

TEST_CASE("guarded server: a connection that sends nothing is closed at the header deadline", "[guarded_server]") {
  GuardedFixture server(fast_limits());
  RawConnection silent("127.0.0.1", server.port);
  bool closed = false;
  silent.read_until_closed(3s, closed);
  CHECK(closed);
  CHECK(server.read_deadline == 1);
}

TEST_CASE("guarded server: connections beyond the per-address cap get 429 at once", "[guarded_server]") {
  auto limits = fast_limits();
  limits.header_timeout = 10s;
  limits.max_connections_per_peer = 2;
  GuardedFixture server(limits);
  RawConnection first("127.0.0.2", server.port);
  RawConnection second("127.0.0.2", server.port);
  // An answered request proves a worker took (and counted) each; both then stay open, kept alive.
  for (RawConnection* connection : {&first, &second}) {
    REQUIRE(connection->send("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_THAT(connection->read_until("pong from 127.0.0.2"), Catch::Contains("200 OK"));
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

TEST_CASE("guarded server: many slow connections from one address leave workers for others",
          "[guarded_server]") {
  auto limits = fast_limits();
  limits.header_timeout = 30s;  // the slow ones stay for the whole test
  limits.max_connections_per_peer = 3;
  GuardedFixture server(limits, /*threads=*/4);
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

namespace {

httplib::Request head(std::initializer_list<std::pair<const char*, const char*>> headers, const char* version = "HTTP/1.1") {
  httplib::Request request;
  request.method = "POST";
  request.version = version;
  for (const auto& [name, value] : headers) request.headers.emplace(name, value);
  return request;
}

int refused_status(const httplib::Request& request, std::uint64_t max_body = 1000) {
  const auto refused = http::refuse_framing(request, max_body);
  return refused ? refused->status : 0;
}

}  // namespace

TEST_CASE("request framing: unambiguous heads pass, ambiguous or oversized ones are refused", "[framing]") {
  CHECK(refused_status(head({})) == 0);
  CHECK(refused_status(head({{"Content-Length", "1000"}})) == 0);
  CHECK(refused_status(head({{"Content-Length", " 12 "}})) == 0);
  CHECK(refused_status(head({{"Transfer-Encoding", "chunked"}})) == 0);
  CHECK(refused_status(head({{"Transfer-Encoding", "Chunked"}})) == 0);
  CHECK(refused_status(head({{"Accept", "a"}, {"Accept", "b"}})) == 0);  // list headers may repeat

  CHECK(refused_status(head({{"Content-Length", "5"}, {"Content-Length", "5"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "5"}, {"content-length", "6"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "-1"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "+5"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "5, 5"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", ""}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "0x10"}})) == 400);
  CHECK(refused_status(head({{"Content-Length", "99999999999999999999999"}})) == 400);
  CHECK(refused_status(head({{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}})) == 400);
  CHECK(refused_status(head({{"Transfer-Encoding", "chunked"}}, "HTTP/1.0")) == 400);
  CHECK(refused_status(head({{"Transfer-Encoding", "gzip, chunked"}})) == 501);
  CHECK(refused_status(head({{"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}})) == 501);
  CHECK(refused_status(head({{"Transfer-Encoding", "identity"}})) == 501);
  CHECK(refused_status(head({{"MCP-Protocol-Version", "2025-06-18"}, {"mcp-protocol-version", "2024-11-05"}})) == 400);
  CHECK(refused_status(head({{"Authorization", "Bearer a"}, {"Authorization", "Bearer b"}})) == 400);
  CHECK(refused_status(head({{"Host", "a"}, {"Host", "b"}})) == 400);

  CHECK(refused_status(head({{"Content-Length", "1001"}})) == 413);
  CHECK(refused_status(head({{"Content-Length", "10737418240"}})) == 413);
  const auto refused = http::refuse_framing(head({{"Content-Length", "5"}, {"Content-Length", "6"}}), 1000);
  REQUIRE(refused);
  CHECK(refused->message.find("Content-Length") != std::string::npos);
}

TEST_CASE("guarded server: refused framing is answered at once and the connection closed, body unread",
          "[guarded_server][framing]") {
  auto limits = fast_limits();
  limits.body_timeout = 10s;  // a refusal must not wait for a body
  GuardedFixture server(limits);
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

TEST_CASE("guarded server: a POST with neither Content-Length nor Transfer-Encoding has an empty body",
          "[guarded_server][framing]") {
  auto limits = fast_limits();
  limits.body_timeout = 10s;
  GuardedFixture server(limits);
  RawConnection client("127.0.0.1", server.port);
  const auto started = Clock::now();
  // Kept alive: httplib alone would read a body until the client closed.
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\n\r\nGET /ping HTTP/1.1\r\nHost: x\r\n\r\n"));
  const auto answers = client.read_until("pong");
  CHECK(answers.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(answers.find("pong from 127.0.0.1") != std::string::npos);
  CHECK(Clock::now() - started < 2s);
}

TEST_CASE("guarded server: chunked bodies still work", "[guarded_server][framing]") {
  GuardedFixture server(fast_limits());
  RawConnection client("127.0.0.1", server.port);
  REQUIRE(client.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"));
  const auto answer = client.read_until("hello");
  CHECK(answer.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(answer.find("hello") != std::string::npos);
}

TEST_CASE("guarded server: a client still sending a refused body reads the 413, not a reset",
          "[guarded_server][framing]") {
  GuardedFixture server(fast_limits());  // payload limit 1 MiB
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
