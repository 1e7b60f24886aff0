#include "http/framed_body.hpp"

#include <algorithm>
#include <array>

#include "core/encoding.hpp"
#include "http/url.hpp"

namespace http {

namespace {

// A chunk-size line with its extensions, and one trailer line: far more than any client sends.
constexpr std::size_t kMaxChunkLine = 1024;
constexpr std::size_t kMaxTrailerLines = 32;

tl::unexpected<HttpError> refuse(int status, std::string message) {
  return tl::unexpected(HttpError{status, std::move(message)});
}

HttpError too_large(std::uint64_t max_bytes) {
  return HttpError{413, "Payload Too Large: the body may be at most " + std::to_string(max_bytes) + " bytes"};
}

HttpError read_failure(long got) {
  return got == 0 ? HttpError{400, "Bad Request: the connection ended inside the body"}
                  : HttpError{408, "Request Timeout: the body did not arrive in time"};
}

}  // namespace

FramedBody::FramedBody(const RequestHead& head, ReadSome read_some, std::function<void()> before_first_read)
    : m_framing(head.framing),
      m_length(head.content_length),
      m_read_some(std::move(read_some)),
      m_before_first_read(std::move(before_first_read)) {}

tl::expected<std::string, HttpError> FramedBody::read_all(std::uint64_t max_bytes) {
  if (m_framing == BodyFraming::none || (m_framing == BodyFraming::length && m_length == 0)) return std::string();
  if (m_framing == BodyFraming::length && m_length > max_bytes) return tl::unexpected(too_large(max_bytes));
  if (m_before_first_read) std::exchange(m_before_first_read, {})();
  if (m_framing == BodyFraming::chunked) return read_chunked(max_bytes);
  std::string body;
  if (auto read = read_exactly(body, m_length); !read) return tl::unexpected(read.error());
  return body;
}

tl::expected<void, HttpError> FramedBody::read_exactly(std::string& out, std::uint64_t count) {
  const auto start = out.size();
  out.resize(start + count);
  std::uint64_t done = 0;
  while (done < count) {
    const auto got = m_read_some(out.data() + start + done, static_cast<std::size_t>(count - done));
    if (got <= 0) return tl::unexpected(read_failure(got));
    done += static_cast<std::uint64_t>(got);
  }
  return {};
}

// One CRLF-terminated line without its CRLF. A bare LF, or a line longer than `max_length`, is refused.
tl::expected<std::string, HttpError> FramedBody::read_line(std::size_t max_length) {
  std::string line;
  char c = 0;
  for (;;) {
    const auto got = m_read_some(&c, 1);
    if (got <= 0) return tl::unexpected(read_failure(got));
    if (c == '\n') {
      if (line.empty() || line.back() != '\r') return refuse(400, "Bad Request: chunked framing needs CRLF line ends");
      line.pop_back();
      if (line.find('\r') != std::string::npos) return refuse(400, "Bad Request: a bare CR in chunked framing");
      return line;
    }
    if (line.size() >= max_length) return refuse(400, "Bad Request: a chunked framing line is too long");
    line.push_back(c);
  }
}

tl::expected<std::string, HttpError> FramedBody::read_chunked(std::uint64_t max_bytes) {
  std::string body;
  for (;;) {
    auto line = read_line(kMaxChunkLine);
    if (!line) return tl::unexpected(line.error());
    // chunk-size [ chunk-ext ]: hex digits, then nothing or ';' (extensions are ignored).
    std::uint64_t size = 0;
    std::size_t digits = 0;
    for (; digits < line->size() && core::hex_digit((*line)[digits]) >= 0; ++digits) {
      if (digits == 15) return refuse(400, "Bad Request: a chunk size is too large");
      size = size * 16 + static_cast<std::uint64_t>(core::hex_digit((*line)[digits]));
    }
    const auto rest = std::string_view(*line).substr(digits);
    if (digits == 0 || !(rest.empty() || rest.front() == ';' || rest.front() == ' ' || rest.front() == '\t')) {
      return refuse(400, "Bad Request: malformed chunk size");
    }
    if (size == 0) break;
    if (body.size() + size > max_bytes) return tl::unexpected(too_large(max_bytes));
    if (auto read = read_exactly(body, size); !read) return tl::unexpected(read.error());
    // The chunk's data ends with CRLF and nothing else.
    auto end = read_line(1);
    if (!end) return tl::unexpected(end.error());
    if (!end->empty()) return refuse(400, "Bad Request: chunk data longer than its size");
  }
  // The trailer section: bounded lines, dropped (nothing here reads trailers).
  for (std::size_t lines = 0;; ++lines) {
    if (lines > kMaxTrailerLines) return refuse(431, "Request Header Fields Too Large: too many trailer fields");
    auto trailer = read_line(kMaxChunkLine);
    if (!trailer) return tl::unexpected(trailer.error());
    if (trailer->empty()) break;
  }
  return body;
}

}  // namespace http
