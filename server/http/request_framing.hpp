#pragma once

#include <httplib.h>

#include <cstdint>
#include <optional>
#include <string>

namespace http {

/// Why a request's head cannot be served as sent: the status to answer with and a sentence for the
/// client. The connection is closed after the answer (its body, if any, was never read).
struct FramingRefusal {
  int status = 400;
  std::string message;
};

/// Checks a request's head before its body is read: the ambiguities RFC 9112 (section 6) says a
/// server must refuse because two parties could frame the message differently (request smuggling),
/// and bodies that could never be accepted, so they are refused before they are waited for.
///  - 400: Content-Length repeated or not a plain decimal number; Transfer-Encoding together with
///    Content-Length, or in an HTTP/1.0 request; a header that must appear once (Host, Content-Type,
///    Authorization, Origin, the MCP headers) repeated.
///  - 501: a Transfer-Encoding other than exactly "chunked" (nothing else is implemented).
///  - 413: a Content-Length above `max_body_bytes`.
std::optional<FramingRefusal> refuse_framing(const httplib::Request& request, std::uint64_t max_body_bytes);

}  // namespace http
