#include "docker/hijacked_attachment.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "core/fd.hpp"
#include "docker/curl_handle.hpp"
#include "docker/http_client.hpp"

namespace docker {

namespace {

using core::ErrorKind;

// Bounds on what we hold in memory at once, whatever the engine or the container sends.
constexpr std::size_t kMaxResponseHead = 16U * 1024U;
constexpr std::size_t kMaxErrorBody = 64U * 1024U;
constexpr std::size_t kChunk = 64U * 1024U;

bool is_transient(int error) { return error == EAGAIN || error == EWOULDBLOCK || error == EINTR; }

/// Polls `fd` once for `events`, waiting at most until `deadline`; 0 means nothing happened by then.
core::Result<short> wait_for(int fd, short events, Clock::time_point deadline) {
  auto ready = core::poll_until(fd, events, deadline);
  if (!ready) return core::fail(ready.error().with_context("the attach connection"));
  if ((*ready & POLLNVAL) != 0) {
    // Not reported as readable or writable: without this the pump would spin until its deadline.
    return core::fail(ErrorKind::internal, "the attach connection's socket is not open");
  }
  return ready;
}

struct ResponseHead {
  long status = 0;
  std::size_t size = 0;  ///< bytes up to and including the blank line
  std::size_t content_length = kMaxErrorBody;
};

std::size_t header_content_length(std::string_view head) {
  std::size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    const auto next = head.find("\r\n", pos + 2);
    if (const auto value = header_value(head.substr(pos + 2, next - pos - 2), "content-length")) {
      std::size_t length = kMaxErrorBody;
      std::from_chars(value->data(), value->data() + value->size(), length);
      return std::min(length, kMaxErrorBody);
    }
    pos = next;
  }
  return kMaxErrorBody;
}

/// The status line and size of a complete response head, or nullopt while the blank line has not arrived.
std::optional<ResponseHead> parse_head(std::string_view received) {
  const auto end = received.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return std::nullopt;
  }
  ResponseHead head;
  head.size = end + 4;
  // "HTTP/1.1 101 UPGRADED": the status is the second word.
  const auto space = received.find(' ');
  if (received.substr(0, 5) == "HTTP/" && space != std::string_view::npos && space + 4 <= end) {
    std::from_chars(received.data() + space + 1, received.data() + space + 4, head.status);
  }
  head.content_length = header_content_length(received.substr(0, head.size));
  return head;
}

class HijackedAttachment final : public Attachment {
 public:
  HijackedAttachment(curl::Easy handle, int fd, std::string early_output, std::string what)
      : m_handle(std::move(handle)), m_fd(fd), m_pending(std::move(early_output)), m_what(std::move(what)) {}

  bool silent() override {
    if (m_started || !m_pending.empty()) return false;
    // POLLRDHUP: the engine closed its side; POLLIN: output arrived or the stream ended.
    const auto ready = core::poll_until(m_fd, POLLIN | POLLRDHUP, Clock::now());
    return ready && *ready == 0;
  }

  core::Result<PumpEnd> pump(std::string_view input, Clock::time_point deadline, StreamDemux& sink) override {
    if (!m_pending.empty()) {
      sink.feed(m_pending);
      m_pending = std::string();
    }
    if (!m_started) {
      // Only the first call delivers input; it is kept until the program has read it all,
      // so pumping in slices (to report progress) never cuts stdin short.
      m_started = true;
      m_input.assign(input);
      if (m_input.empty()) close_input();
    }
    if (m_buffer.empty()) {
      m_buffer.resize(kChunk);
    }
    while (!m_eof && !sink.end_status()) {
      const short want = static_cast<short>(POLLIN | (m_input_closed ? 0 : POLLOUT));
      const auto ready = wait_for(m_fd, want, deadline);
      if (!ready) {
        return core::fail(ready.error());
      }
      if (*ready == 0) {
        break;
      }
      if ((*ready & POLLOUT) != 0 && !m_input_closed) {
        if (auto written = write_some(); !written) {
          return core::fail(written.error());
        }
      }
      if ((*ready & (POLLIN | POLLHUP | POLLERR)) != 0) {
        if (auto read = read_some(sink); !read) {
          return core::fail(read.error());
        }
      }
      if (Clock::now() >= deadline) {
        break;
      }
    }
    if (sink.end_status()) return PumpEnd::end_line;
    return m_eof ? PumpEnd::eof : PumpEnd::deadline;
  }

 private:
  core::Result<void> write_some() {
    const std::string_view input = std::string_view(m_input).substr(m_input_offset);
    const auto sent = ::send(m_fd, input.data(), std::min(input.size(), kChunk), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent >= 0) {
      m_input_offset += static_cast<std::size_t>(sent);
      if (m_input_offset == m_input.size()) {
        close_input();
      }
      return {};
    }
    if (is_transient(errno)) {
      return {};
    }
    if (errno == EPIPE || errno == ECONNRESET) {
      // The program stopped reading stdin (or exited); its output may still be coming.
      m_input_closed = true;
      m_input = std::string();
      return {};
    }
    return core::fail(ErrorKind::unavailable, m_what + ": writing stdin failed: " + std::strerror(errno));
  }

  core::Result<void> read_some(StreamDemux& sink) {
    const auto received = ::recv(m_fd, m_buffer.data(), m_buffer.size(), MSG_DONTWAIT);
    if (received > 0) {
      sink.feed(std::string_view(m_buffer.data(), static_cast<std::size_t>(received)));
      return {};
    }
    if (received == 0 || errno == ECONNRESET) {
      // A reset instead of a clean close happens when the engine closes with our unread stdin still queued.
      m_eof = true;
      return {};
    }
    if (is_transient(errno)) {
      return {};
    }
    return core::fail(ErrorKind::unavailable, m_what + ": reading output failed: " + std::strerror(errno));
  }

  void close_input() {
    m_input = std::string();  // nothing more will be written; give the memory back now
    if (!m_input_closed) {
      m_input_closed = true;
      // Half-close: the engine closes the program's stdin (StdinOnce) and keeps sending its output.
      ::shutdown(m_fd, SHUT_WR);
    }
  }

  curl::Easy m_handle;  // owns the socket; cleanup closes it
  int m_fd;
  std::string m_pending;  // stream bytes that arrived with the handshake
  std::string m_what;
  std::vector<char> m_buffer;
  std::string m_input;  // stdin still to be written
  std::size_t m_input_offset = 0;
  bool m_started = false;
  bool m_input_closed = false;
  bool m_eof = false;
};

core::Result<void> send_all(int fd, std::string_view data, Clock::time_point deadline, const std::string& what) {
  while (!data.empty()) {
    const auto ready = wait_for(fd, POLLOUT, deadline);
    if (!ready) {
      return core::fail(ready.error());
    }
    if (*ready == 0) {
      return core::fail(ErrorKind::timeout, what + ": the Docker engine did not take the request in time");
    }
    const auto sent = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && !is_transient(errno)) {
      return core::fail(ErrorKind::unavailable, what + ": sending the request failed: " + std::strerror(errno));
    }
    data.remove_prefix(sent > 0 ? static_cast<std::size_t>(sent) : 0);
  }
  return {};
}

/// Appends what arrives to `received` until `done` says so, EOF, `limit` bytes, or the deadline.
/// Returns false on EOF or deadline.
template <typename Done>
core::Result<bool> receive_until(int fd, std::string& received, std::size_t limit, Clock::time_point deadline,
                                 const std::string& what, Done&& done) {
  char buffer[4096];
  while (!done(received) && received.size() < limit) {
    const auto ready = wait_for(fd, POLLIN, deadline);
    if (!ready) {
      return core::fail(ready.error());
    }
    if (*ready == 0) {
      return false;
    }
    const auto got = ::recv(fd, buffer, std::min(sizeof buffer, limit - received.size()), MSG_DONTWAIT);
    if (got == 0 || (got < 0 && errno == ECONNRESET)) {
      return false;
    }
    if (got < 0 && !is_transient(errno)) {
      return core::fail(ErrorKind::unavailable, what + ": reading the answer failed: " + std::strerror(errno));
    }
    received.append(buffer, got > 0 ? static_cast<std::size_t>(got) : 0);
  }
  return true;
}

core::Result<std::pair<curl::Easy, int>> connect_raw(const DockerHost& host, std::chrono::milliseconds connect_timeout,
                                                     const std::string& what) {
  curl::Easy handle = curl::make_easy();
  if (!handle) {
    return core::fail(ErrorKind::internal, "out of memory preparing " + what);
  }
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string url = host.base_url + "/";
  curl::set_connection_options(handle.get(), host, static_cast<long>(connect_timeout.count()));
  curl_easy_setopt(handle.get(), CURLOPT_URL, url.c_str());
  // libcurl only connects; we speak HTTP ourselves because the connection stops being HTTP after the answer.
  curl_easy_setopt(handle.get(), CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(handle.get(), CURLOPT_ERRORBUFFER, error_buffer);
  const CURLcode code = curl_easy_perform(handle.get());
  curl_easy_setopt(handle.get(), CURLOPT_ERRORBUFFER, nullptr);
  if (code != CURLE_OK) {
    return core::fail(curl::transfer_error(code, error_buffer, host, what));
  }
  curl_socket_t fd = CURL_SOCKET_BAD;
  if (curl_easy_getinfo(handle.get(), CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD) {
    return core::fail(ErrorKind::internal, what + ": libcurl gave no socket");
  }
  return std::pair{std::move(handle), static_cast<int>(fd)};
}

}  // namespace

core::Result<std::unique_ptr<Attachment>> open_hijacked_attachment(const DockerHost& host,
                                                                   std::chrono::milliseconds connect_timeout,
                                                                   const std::string& path,
                                                                   Clock::time_point deadline) {
  const std::string what = "POST " + path;
  const auto started = Clock::now();
  auto connection = connect_raw(host, connect_timeout, what);
  if (!connection) {
    return core::fail(connection.error());
  }
  auto& [handle, fd] = *connection;
  // The same head the docker CLI sends; the engine answers "101 UPGRADED" and the socket becomes the stream.
  const std::string request = "POST " + path +
                              " HTTP/1.1\r\nHost: docker\r\nUser-Agent: mcp-sandbox\r\nContent-Type: text/plain\r\n"
                              "Content-Length: 0\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n";
  if (auto sent = send_all(fd, request, deadline, what); !sent) {
    return core::fail(sent.error());
  }
  std::string received;
  const auto complete = receive_until(fd, received, kMaxResponseHead, deadline, what,
                                      [](const std::string& text) { return parse_head(text).has_value(); });
  if (!complete) {
    return core::fail(complete.error());
  }
  const auto head = parse_head(received);
  if (!head) {
    if (received.size() >= kMaxResponseHead) {
      return core::fail(ErrorKind::internal, what + ": the Docker engine's answer head is too large");
    }
    return Clock::now() >= deadline
               ? core::fail(ErrorKind::timeout, what + ": the Docker engine did not answer in time")
               : core::fail(ErrorKind::unavailable, what + ": the Docker engine closed the connection without answering");
  }
  const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  spdlog::debug("docker {} -> {} in {} ms", what, head->status, elapsed_ms);
  if (head->status == 101 || head->status == 200) {
    return std::make_unique<HijackedAttachment>(std::move(handle), fd, received.substr(head->size), what);
  }
  // Error answers on this endpoint may come without Content-Length; the engine closes after the body.
  const std::size_t body_end = head->size + head->content_length;
  const auto body = receive_until(fd, received, body_end, deadline, what, [](const std::string&) { return false; });
  if (!body) {
    return core::fail(body.error());
  }
  return core::fail(engine_error(head->status, std::string_view(received).substr(head->size)));
}

}  // namespace docker
