#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

namespace http {

/// One header field as it arrived: the name as spelled, the value without the whitespace around it.
struct Header {
  std::string name;
  std::string value;
};

/// Whether two header names are the same (names are case-insensitive; values are not).
[[nodiscard]] bool same_name(std::string_view a, std::string_view b);

/// How a request's body is delimited on the wire (RFC 9112 section 6).
enum class BodyFraming { none, length, chunked };

/// A request head as the strict parser read it off the wire (request_head.hpp): nothing in it was
/// percent-decoded, folded or merged.
struct RequestHead {
  std::string method;
  std::string target;  ///< as sent: an origin-form path with its query
  std::string path;    ///< the target before '?'
  std::string query;   ///< the target after '?', or empty
  int minor_version = 1;  ///< HTTP/1.<minor_version>
  std::vector<Header> headers;
  BodyFraming framing = BodyFraming::none;
  std::uint64_t content_length = 0;  ///< with BodyFraming::length

  /// The first value of header `name`, or nullopt. Headers that must appear once were checked by the parser.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
  /// Whether a body follows the head (a Content-Length above 0, or chunked).
  [[nodiscard]] bool has_body() const {
    return framing == BodyFraming::chunked || (framing == BodyFraming::length && content_length > 0);
  }
};

/// An HTTP status with a sentence for the client: why a request cannot be served as sent.
struct HttpError {
  int status = 400;
  std::string message;
};

/// A request's body, read only when a handler asks for it and never more than a budget.
class BodySource {
 public:
  virtual ~BodySource() = default;
  /// The whole body if it holds at most `max_bytes`; otherwise 413 as soon as the budget is crossed
  /// (the rest is never read), 400 for broken chunked framing, 408 when the body deadline passes.
  virtual tl::expected<std::string, HttpError> read_all(std::uint64_t max_bytes) = 0;
};

/// Where a request came from.
struct Peer {
  std::string address;  ///< the socket's peer address
  /// Who the client is: `address`, or the address a trusted proxy vouched for (TRUSTED_PROXIES).
  std::string client;
  std::string local_address;  ///< the address the request arrived on
  int local_port = 0;
};

/// One request as a handler sees it: the head, where it came from, and its body on demand.
class Request {
 public:
  Request(RequestHead head, Peer peer, BodySource& body, std::uint64_t max_body_bytes)
      : m_head(std::move(head)), m_peer(std::move(peer)), m_source(&body), m_max_body(max_body_bytes) {}

  [[nodiscard]] const RequestHead& head() const { return m_head; }
  [[nodiscard]] const std::string& method() const { return m_head.method; }
  [[nodiscard]] const std::string& path() const { return m_head.path; }
  [[nodiscard]] const Peer& peer() const { return m_peer; }
  /// Header `name`'s value, or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
  [[nodiscard]] bool has_header(std::string_view name) const { return m_head.header(name).has_value(); }
  /// Query parameter `name`, percent-decoded, or "" when absent.
  [[nodiscard]] std::string query_param(std::string_view name) const;

  /// Reads the body (the first call; later calls return what it returned) within the server's cap.
  /// Handlers call this only after the caller is authenticated: an unread body is never received.
  const tl::expected<std::string, HttpError>& body();
  /// body() with a smaller cap for this route (e.g. a form that is never large); the server's cap still holds.
  const tl::expected<std::string, HttpError>& body(std::uint64_t max_bytes);
  /// Whether the body was read to its end (or there was none): the connection may serve another request.
  [[nodiscard]] bool body_consumed() const { return !m_head.has_body() || (m_body && m_body->has_value()); }

 private:
  RequestHead m_head;
  Peer m_peer;
  BodySource* m_source;
  std::uint64_t m_max_body;
  std::optional<tl::expected<std::string, HttpError>> m_body;
};

/// Writes a response body while it is produced (SSE, file downloads).
class BodyWriter {
 public:
  virtual ~BodyWriter() = default;
  /// Sends `data`; false once the client is gone or too slow (stop producing then).
  virtual bool write(std::string_view data) = 0;
  /// Sends `length` bytes of the open file `fd` from `offset`, read and written in 64 KiB pieces.
  /// False once the client is gone or too slow, or when the file ends before `length` bytes.
  bool write_file(int fd, std::uint64_t offset, std::uint64_t length);
};

/// A response: status, headers, and either a body in memory or a body produced while it is sent.
struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;
  /// When set, the body is produced by this function on the serving thread after the head is sent:
  /// `stream_length` bytes when known, otherwise chunked. It is always called exactly once, also when
  /// the client is already gone or the request was HEAD (then every write returns false at once),
  /// so it may release what it holds at its end.
  std::function<void(BodyWriter&)> stream;
  std::optional<std::uint64_t> stream_length;
  /// Close the connection after this response.
  bool close = false;

  /// Sets header `name` (replacing any value it had).
  void set_header(std::string_view name, std::string value);
  /// Header `name`'s value, or "" when absent.
  [[nodiscard]] std::string header(std::string_view name) const;
  /// An in-memory body with its Content-Type.
  void set_content(std::string content, std::string content_type);
};

/// Answers one request. Runs on a worker thread of the server; may block (the thread is the request's).
using Handler = std::function<void(Request&, Response&)>;

}  // namespace http
