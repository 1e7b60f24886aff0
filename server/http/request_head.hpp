#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "http/message.hpp"

namespace http {

/// How large a request head may be, and the body it may announce. Everything before authentication
/// is bounded by these: a head is read into memory whole, so its budget is what any caller can make
/// the server hold per connection.
struct HeadLimits {
  std::size_t max_request_line = 8 * 1024;  ///< 414 beyond
  std::size_t max_head_bytes = 32 * 1024;   ///< request line + headers; 431 beyond
  std::size_t max_header_count = 100;       ///< 431 beyond
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;  ///< a larger Content-Length is 413 before any body byte is read
};

/// Where a complete head ends in `bytes` (the index just past its blank line), nullopt while it is
/// incomplete, or the refusal when `bytes` already breaks the budgets (414, 431) or the line rules
/// (400: a bare CR or LF). `bytes` starts at the request line (see skip_leading_blank_lines).
[[nodiscard]] tl::expected<std::optional<std::size_t>, HttpError> find_head_end(std::string_view bytes,
                                                                              const HeadLimits& limits);

/// How many bytes of empty lines (CRLF) precede a request line, which RFC 9112 (2.2) lets a server
/// skip; at most a few are skipped, the rest is a malformed request.
[[nodiscard]] std::size_t skip_leading_blank_lines(std::string_view bytes);

/// Parses and checks one request head (request line, headers, the blank line) exactly as written on
/// the wire — nothing is percent-decoded, case-folded or unfolded before it is judged — and refuses
/// anything two HTTP parsers could read differently (request smuggling) or that could never be served:
///  - 400: a malformed request line, header line or value (control characters, obs-fold, space before
///    the colon), a missing or repeated Host in HTTP/1.1, a repeated header that must appear once,
///    Content-Length repeated or not a plain number, Transfer-Encoding with Content-Length or in
///    HTTP/1.0, a body on a method that takes none (GET, HEAD, OPTIONS, DELETE, TRACE);
///  - 414 / 431: over the budgets of `limits`; 413: a Content-Length above max_body_bytes;
///  - 415: a request Content-Encoding other than identity (bodies are never decompressed);
///  - 417: an Expect other than 100-continue; 501: a Transfer-Encoding other than exactly "chunked";
///    505: an HTTP version other than 1.0 and 1.1.
[[nodiscard]] tl::expected<RequestHead, HttpError> parse_request_head(std::string_view head, const HeadLimits& limits);

/// The reason phrase of a status code ("Not Found"), or "Unknown".
[[nodiscard]] std::string_view reason_phrase(int status);

}  // namespace http
