#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "http/message.hpp"

namespace http {

/// A request body as its head frames it (Content-Length or chunked), read from a connection only
/// when a handler asks for it, and never beyond its budget: a Content-Length over the budget or a
/// chunk that would cross it is refused (413) before its bytes are read. Chunked framing is parsed
/// strictly (hex sizes of at most 15 digits, CRLF line ends, bounded extension and trailer lines).
class FramedBody final : public BodySource {
 public:
  /// Up to `size` bytes into `out`: the count, 0 when the peer closed, < 0 on an error or the deadline.
  using ReadSome = std::function<long(char* out, std::size_t size)>;

  /// `before_first_read` runs once before the first byte is read (for "100 Continue").
  FramedBody(const RequestHead& head, ReadSome read_some, std::function<void()> before_first_read = {});

  tl::expected<std::string, HttpError> read_all(std::uint64_t max_bytes) override;

 private:
  tl::expected<void, HttpError> read_exactly(std::string& out, std::uint64_t count);
  tl::expected<std::string, HttpError> read_line(std::size_t max_length);
  tl::expected<std::string, HttpError> read_chunked(std::uint64_t max_bytes);

  BodyFraming m_framing;
  std::uint64_t m_length;
  ReadSome m_read_some;
  std::function<void()> m_before_first_read;
};

}  // namespace http
