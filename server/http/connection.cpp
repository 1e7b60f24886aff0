#include "http/connection.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <spdlog/spdlog.h>

#include <array>
#include <exception>
#include <cerrno>
#include <cstdio>

#include "http/framed_body.hpp"
#include "http/socket_stream.hpp"

namespace http {

namespace {

using std::chrono::milliseconds;

// After a refusal whose body was never read the client may still be sending it, and closing a
// socket with unread data makes the kernel answer with a reset, which can destroy the refusal
// before the client reads it (a 413 turns into "connection reset"). So stop writing and drop what
// still comes, until the client closes, for at most a moment and a bounded amount (as nginx does).
constexpr milliseconds kLingerTime{2000};
constexpr std::size_t kLingerBytes = 64 * 1024 * 1024;

void linger_close(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + kLingerTime;
  std::array<char, 16 * 1024> sink{};
  std::size_t dropped = 0;
  while (dropped < kLingerBytes) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !wait_for_socket(sock, POLLIN, left)) break;
    const auto received = ::recv(sock, sink.data(), sink.size(), 0);
    if (received < 0 && errno == EINTR) continue;
    if (received <= 0) break;
    dropped += static_cast<std::size_t>(received);
  }
}

bool bodyless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

// Headers the connection writes itself, never taken from a handler.
bool framing_header(std::string_view name) {
  return same_name(name, "Content-Length") || same_name(name, "Transfer-Encoding") || same_name(name, "Connection") ||
         same_name(name, "Keep-Alive");
}

// A streamed body in chunked coding (HTTP/1.1), with exactly `length` bytes, or until close (HTTP/1.0).
class StreamWriter final : public BodyWriter {
 public:
  enum class Mode { chunked, length, until_close, discard };
  StreamWriter(SocketStream& stream, Mode mode, std::uint64_t length) : m_stream(stream), m_mode(mode), m_left(length) {}

  bool write(std::string_view data) override {
    if (m_failed || m_mode == Mode::discard) return false;
    if (data.empty()) return true;
    switch (m_mode) {
      case Mode::chunked: {
        std::array<char, 20> size{};
        const int n = std::snprintf(size.data(), size.size(), "%zx\r\n", data.size());
        std::string frame;
        frame.reserve(data.size() + static_cast<std::size_t>(n) + 2);
        frame.append(size.data(), static_cast<std::size_t>(n)).append(data).append("\r\n");
        m_failed = !m_stream.write_all(frame);
        break;
      }
      case Mode::length:
        // Never more than announced: the rest would be read as the next response.
        if (data.size() > m_left) {
          m_failed = true;
          return false;
        }
        m_left -= data.size();
        m_failed = !m_stream.write_all(data);
        break;
      case Mode::until_close: m_failed = !m_stream.write_all(data); break;
      case Mode::discard: return false;
    }
    return !m_failed;
  }

  // Ends the body; false when the connection cannot carry another response.
  bool finish() {
    if (m_failed || m_mode == Mode::discard) return !m_failed && m_mode == Mode::discard;
    if (m_mode == Mode::chunked) return m_stream.write_all("0\r\n\r\n");
    return m_mode == Mode::length && m_left == 0;
  }

 private:
  SocketStream& m_stream;
  Mode m_mode;
  std::uint64_t m_left;
  bool m_failed = false;
};

// Writes `response`; false when the connection cannot be used for another request.
// `idle_seconds`: how long a kept-alive connection waits for the next request. The client is told
// a second less (Keep-Alive: timeout=N) so that its pool drops the connection before the server
// does: a client reusing a connection just as the server closes it sees its request fail, and
// pools' timers run late under load (undici's by up to a second).
bool write_response(SocketStream& stream, Response& response, int minor_version, bool head_only, bool& close,
                    long long idle_seconds) {
  const bool has_body = !bodyless_status(response.status);
  StreamWriter::Mode mode = StreamWriter::Mode::discard;
  if (response.stream && has_body) {
    if (response.stream_length) {
      mode = StreamWriter::Mode::length;
    } else if (minor_version >= 1) {
      mode = StreamWriter::Mode::chunked;
    } else {
      mode = StreamWriter::Mode::until_close;
      close = true;
    }
  }
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " + std::string(reason_phrase(response.status)) + "\r\n";
  for (const auto& header : response.headers) {
    if (framing_header(header.name)) continue;
    head.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  if (has_body) {
    if (mode == StreamWriter::Mode::chunked) {
      head.append("Transfer-Encoding: chunked\r\n");
    } else if (mode == StreamWriter::Mode::length) {
      head.append("Content-Length: ").append(std::to_string(*response.stream_length)).append("\r\n");
    } else if (mode != StreamWriter::Mode::until_close) {
      head.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n");
    }
  }
  if (close) {
    head.append("Connection: close\r\n");
  } else if (idle_seconds > 1) {
    head.append("Keep-Alive: timeout=").append(std::to_string(idle_seconds - 1)).append("\r\n");
  }
  head.append("\r\n");
  if (!response.stream && has_body && !head_only) head.append(response.body);
  bool ok = stream.write_all(head);
  if (response.stream) {
    // Called exactly once whatever happened, so the producer can release what it holds.
    StreamWriter writer(stream, ok && !head_only ? mode : StreamWriter::Mode::discard,
                        response.stream_length.value_or(0));
    response.stream(writer);
    ok = ok && (head_only || mode == StreamWriter::Mode::discard || writer.finish());
  }
  return ok;
}

Response refusal(const HttpError& error) {
  Response response;
  response.status = error.status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(error.message + "\n", "text/plain; charset=utf-8");
  response.close = true;
  return response;
}

// Whether the client asked for the connection to end after this request.
bool wants_close(const RequestHead& head) {
  const auto connection = head.header("Connection");
  if (head.minor_version == 0) return true;  // HTTP/1.0 keep-alive is not offered
  return connection && same_name(*connection, "close");
}

class ConnectionServer {
 public:
  ConnectionServer(int sock, std::string peer, const std::atomic<int>& listening, const ConnectionSettings& settings,
                   IdleWatcher* idle)
      : m_sock(sock), m_settings(settings), m_stream(sock, settings.limits, listening), m_idle(idle) {
    m_peer.address = std::move(peer);
    socket_address(sock, false, m_peer.local_address, m_peer.local_port);
  }

  void run() {
    bool linger = false;
    for (std::size_t served = 0; served < m_settings.keep_alive_requests && !m_stream.stopping(); ++served) {
      // A new connection must start its request within the header deadline; a kept-alive one may idle.
      const auto wait = served == 0 ? m_settings.limits.header_timeout : m_settings.limits.idle_timeout;
      const auto started = Clock::now();
      if (!wait_request(started + wait, served > 0)) {
        if (served == 0 && !m_stream.stopping()) closed("read_deadline");
        break;
      }
      m_stream.set_read_deadline(served == 0 ? started + m_settings.limits.header_timeout
                                             : Clock::now() + m_settings.limits.header_timeout);
      bool keep = false;
      if (!serve_one(served + 1 == m_settings.keep_alive_requests, keep, linger) || !keep) break;
    }
    if (linger) linger_close(m_sock);
  }

 private:
  // Waits for the first byte of the next request; a kept-alive connection may be closed meanwhile
  // to make room, and then it is over whatever arrived.
  bool wait_request(Clock::time_point deadline, bool kept_alive) {
    if (!kept_alive || m_idle == nullptr) return m_stream.wait_request(deadline);
    m_idle->idle(m_sock);
    const bool arrived = m_stream.wait_request(deadline);
    return m_idle->busy(m_sock) && arrived;
  }

  // Reads one head into `head_bytes`; false with `refused` set (or the connection over).
  bool read_head(std::string& head_bytes, std::optional<HttpError>& refused) {
    auto& pending = m_stream.pending();
    for (;;) {
      pending.erase(0, skip_leading_blank_lines(pending));
      const auto end = find_head_end(pending, m_settings.head_limits);
      if (!end) {
        refused = end.error();
        return false;
      }
      if (*end) {
        head_bytes = pending.substr(0, **end);
        pending.erase(0, **end);
        return true;
      }
      const auto got = m_stream.fill();
      if (got <= 0) {
        if (m_stream.deadline_passed()) closed("read_deadline");
        return false;
      }
    }
  }

  bool serve_one(bool last, bool& keep, bool& linger) {
    std::string head_bytes;
    std::optional<HttpError> refused;
    if (!read_head(head_bytes, refused)) {
      if (refused) answer_refusal(*refused, nullptr, linger);
      return false;
    }
    auto head = parse_request_head(head_bytes, m_settings.head_limits);
    if (!head) {
      answer_refusal(head.error(), nullptr, linger);
      return false;
    }
    Peer peer = m_peer;
    peer.client = m_settings.proxies.client_of(m_peer.address, *head);
    const bool expects_continue = head->header("Expect").has_value();
    const int minor_version = head->minor_version;
    FramedBody body(
        *head, [this](char* out, std::size_t size) { return m_stream.read_some(out, size); },
        [this, expects_continue, minor_version] {
          m_stream.set_read_deadline(Clock::now() + m_settings.limits.body_timeout);
          // The client waits for this before it sends a body: only a handler that wants the body says it.
          if (expects_continue && minor_version >= 1) (void)m_stream.write_all("HTTP/1.1 100 Continue\r\n\r\n");
        });
    Request request(std::move(*head), peer, body, m_settings.head_limits.max_body_bytes);
    Response response;
    const auto match = m_settings.router.find(request.method(), request.path());
    if (match.handler != nullptr) {
      call(*match.handler, request, response);
    } else {
      response.status = match.status;
      if (!match.allow.empty()) response.set_header("Allow", match.allow);
      response.set_content(match.status == 404 ? "Not Found\n" : "Method Not Allowed\n", "text/plain; charset=utf-8");
    }
    const bool unread_body = !request.body_consumed();
    bool close = last || response.close || unread_body || wants_close(request.head()) || m_stream.stopping();
    const bool written =
        write_response(m_stream, response, request.head().minor_version, request.method() == "HEAD", close,
                       std::chrono::duration_cast<std::chrono::seconds>(m_settings.limits.idle_timeout).count());
    record(request.method(), request.path(), peer.client, response.status, match.handler != nullptr);
    // A body that was not read to its end would be read as the next request: never.
    linger = linger || unread_body;
    keep = written && !close;
    return true;
  }

  void call(const Handler& handler, Request& request, Response& response) {
    try {
      handler(request, response);
    } catch (const std::exception& e) {
      spdlog::error("http {} {}: unhandled exception: {}", request.method(), request.path(), e.what());
      response = Response{};
      response.status = 500;
      response.set_content("internal error\n", "text/plain");
    } catch (...) {
      spdlog::error("http {} {}: unhandled exception", request.method(), request.path());
      response = Response{};
      response.status = 500;
      response.set_content("internal error\n", "text/plain");
    }
  }

  void answer_refusal(const HttpError& error, const RequestHead* head, bool& linger) {
    closed("framing");
    Response response = refusal(error);
    bool close = true;
    (void)write_response(m_stream, response, head != nullptr ? head->minor_version : 1, false, close, 0);
    record("-", "-", m_peer.address, error.status, false);
    linger = true;
  }

  void record(const std::string& method, const std::string& path, const std::string& client, int status, bool routed) {
    if (m_settings.on_request) m_settings.on_request(RequestRecord{method, path, client, status, routed});
  }

  void closed(std::string_view reason) const {
    if (m_settings.limits.on_closed) m_settings.limits.on_closed(reason);
  }

  int m_sock;
  const ConnectionSettings& m_settings;
  SocketStream m_stream;
  IdleWatcher* m_idle;
  Peer m_peer;
};

}  // namespace

void serve_connection(int sock, std::string peer, const std::atomic<int>& listening,
                      const ConnectionSettings& settings, IdleWatcher* idle) {
  ConnectionServer(sock, std::move(peer), listening, settings, idle).run();
}

}  // namespace http
