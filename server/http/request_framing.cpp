#include "http/request_framing.hpp"

#include <array>
#include <string_view>

namespace http {

namespace {

// Headers whose repetition changes what the request means depending on which copy a reader takes:
// a proxy checking the first and this server using another is how checks get bypassed.
constexpr std::array<std::string_view, 10> kSingletonHeaders = {
    "Host",          "Content-Type",   "Authorization", "Origin",   "MCP-Protocol-Version",
    "Mcp-Session-Id", "Mcp-Method",    "Mcp-Name",      "Last-Event-ID", "Expect",
};

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t");
  return text.substr(first, last - first + 1);
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// A Content-Length value as RFC 9110 defines it (1*DIGIT), within 64 bits; nothing otherwise.
std::optional<std::uint64_t> content_length(std::string_view text) {
  text = trimmed(text);
  if (text.empty() || text.size() > 19) return std::nullopt;  // 19 digits always fit in 64 bits
  std::uint64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

FramingRefusal refusal(int status, std::string message) { return {status, std::move(message)}; }

}  // namespace

std::optional<FramingRefusal> refuse_framing(const httplib::Request& request, std::uint64_t max_body_bytes) {
  for (const auto name : kSingletonHeaders) {
    if (request.headers.count(std::string(name)) > 1) {
      return refusal(400, "Bad Request: the " + std::string(name) + " header appears more than once");
    }
  }
  const auto lengths = request.headers.count("Content-Length");
  const auto encodings = request.headers.count("Transfer-Encoding");
  if (lengths > 1) return refusal(400, "Bad Request: the Content-Length header appears more than once");
  if (encodings > 0) {
    if (lengths > 0) {
      return refusal(400, "Bad Request: Transfer-Encoding and Content-Length together make the body's length ambiguous");
    }
    if (request.version == "HTTP/1.0") return refusal(400, "Bad Request: Transfer-Encoding is not allowed in HTTP/1.0");
    if (encodings > 1 || !equals_ignoring_case(trimmed(request.get_header_value("Transfer-Encoding")), "chunked")) {
      return refusal(501, "Not Implemented: the only Transfer-Encoding accepted is 'chunked'");
    }
    return std::nullopt;
  }
  if (lengths == 1) {
    const auto length = content_length(request.get_header_value("Content-Length"));
    if (!length) return refusal(400, "Bad Request: Content-Length must be a decimal number of bytes");
    if (*length > max_body_bytes) {
      return refusal(413, "Payload Too Large: the body may be at most " + std::to_string(max_body_bytes) + " bytes");
    }
  }
  return std::nullopt;
}

}  // namespace http
