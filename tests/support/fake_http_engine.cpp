#include "support/fake_http_engine.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace test {

namespace {

// Binds a TCP socket to 127.0.0.1 on a port the kernel picks; returns the socket and fills `port`.
int bind_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||  // NOLINT: the socket API
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {   // NOLINT: the socket API
    throw std::runtime_error("cannot bind a loopback socket");
  }
  port = ntohs(address.sin_port);
  return fd;
}

std::string loopback_host(int port) { return "tcp://127.0.0.1:" + std::to_string(port); }

}  // namespace

FakeHttpEngine::FakeHttpEngine(const std::function<void(httplib::Server&)>& routes, std::string api_version) {
  // httplib takes the first matching route, so a test's own /_ping wins over this one.
  routes(m_server);
  m_server.Get("/_ping", [api_version](const httplib::Request&, httplib::Response& response) {
    response.set_header("Api-Version", api_version);
    response.set_content("OK", "text/plain");
  });
  // Bound and listening before the thread runs, so clients queue in the backlog instead of racing it.
  m_port = m_server.bind_to_any_port("127.0.0.1");
  if (m_port <= 0) {
    throw std::runtime_error("cannot bind the fake engine");
  }
  m_thread = std::thread([this] { m_server.listen_after_bind(); });
}

FakeHttpEngine::~FakeHttpEngine() {
  // stop() only works once the accept loop runs; it starts at once, so this wait is brief.
  while (!m_server.is_running()) {
    std::this_thread::yield();
  }
  m_server.stop();
  m_thread.join();
}

std::string FakeHttpEngine::host() const { return loopback_host(m_port); }

LoopbackPort::LoopbackPort() { m_fd = bind_loopback(m_port); }

LoopbackPort::~LoopbackPort() { ::close(m_fd); }

std::string LoopbackPort::host() const { return loopback_host(m_port); }

RawServer::RawServer(std::function<void(int fd)> session) : m_session(std::move(session)) {
  if (::listen(m_port.fd(), 16) != 0) {
    throw std::runtime_error("cannot listen on a loopback socket");
  }
  m_thread = std::thread([this] {
    for (;;) {
      const int connection = ::accept4(m_port.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) {
        return;  // the destructor shut the listener down
      }
      m_session(connection);
      ::close(connection);
    }
  });
}

RawServer::~RawServer() {
  // Shutting a listening socket down wakes a blocked accept() on Linux.
  ::shutdown(m_port.fd(), SHUT_RDWR);
  m_thread.join();
}

std::string read_request_head(int fd) {
  std::string head;
  char c = 0;
  while (head.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) {
    head.push_back(c);
  }
  return head;
}

bool answer_ping(int fd, std::string_view head) {
  if (head.rfind("GET /_ping ", 0) != 0) {
    return false;
  }
  write_all(fd, "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK");
  return true;
}

std::string read_to_eof(int fd, std::size_t limit) {
  std::string data;
  char buffer[4096];
  while (data.size() < limit) {
    const auto got = ::recv(fd, buffer, std::min(sizeof buffer, limit - data.size()), 0);
    if (got <= 0) {
      break;
    }
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (sent <= 0) {
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

std::string frame(unsigned char stream, std::string_view payload) {
  const auto size = static_cast<std::uint32_t>(payload.size());
  std::string out = {static_cast<char>(stream), 0, 0, 0,
                     static_cast<char>((size >> 24U) & 0xFFU), static_cast<char>((size >> 16U) & 0xFFU),
                     static_cast<char>((size >> 8U) & 0xFFU), static_cast<char>(size & 0xFFU)};
  out.append(payload);
  return out;
}

}  // namespace test
