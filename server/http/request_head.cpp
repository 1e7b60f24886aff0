#include "http/request_head.hpp"

#include <array>
#include <string>

#include "http/url.hpp"

namespace http {

namespace {

// RFC 9110 5.6.2: the characters of a token (method and header names).
bool is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return kSpecials.find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view text) {
  if (text.empty()) return false;
  for (const char c : text) {
    if (!is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// RFC 9110 5.5: field-value characters (visible ASCII, obs-text, and space/tab inside).
bool is_field_value(std::string_view text) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\t' || c == ' ') continue;
    if (c < 0x21 || c == 0x7f) return false;
  }
  return true;
}

// Headers whose repetition changes what the request means depending on which copy a reader takes:
// a proxy checking the first and this server using another is how checks get bypassed.
constexpr std::array<std::string_view, 14> kSingletonHeaders = {
    "Host",           "Content-Type",  "Authorization", "Origin",         "MCP-Protocol-Version",
    "Mcp-Session-Id", "Mcp-Method",    "Mcp-Name",      "Last-Event-ID",  "Expect",
    "Content-Length", "Range",         "Content-Encoding", "Transfer-Encoding",
};

// Methods whose requests carry no body (RFC 9110 9.3): a body on one is either an attack (a second
// request hidden in it) or a client bug; either way it is refused.
bool takes_no_body(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "DELETE" || method == "TRACE";
}

tl::unexpected<HttpError> refuse(int status, std::string message) {
  return tl::unexpected(HttpError{status, std::move(message)});
}

bool equals_ignoring_case(std::string_view a, std::string_view b) { return same_name(a, b); }

tl::expected<void, HttpError> parse_request_line(std::string_view line, const HeadLimits& limits, RequestHead& head) {
  if (line.size() > limits.max_request_line) return refuse(414, "URI Too Long: the request line is too long");
  const auto first = line.find(' ');
  const auto second = first == std::string_view::npos ? first : line.find(' ', first + 1);
  if (second == std::string_view::npos || line.find(' ', second + 1) != std::string_view::npos) {
    return refuse(400, "Bad Request: the request line must be 'METHOD target HTTP/1.1' with single spaces");
  }
  const auto method = line.substr(0, first);
  const auto target = line.substr(first + 1, second - first - 1);
  const auto version = line.substr(second + 1);
  if (!is_token(method) || method.size() > 32) return refuse(400, "Bad Request: malformed method");
  if (version == "HTTP/1.1") {
    head.minor_version = 1;
  } else if (version == "HTTP/1.0") {
    head.minor_version = 0;
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && version[6] == '.') {
    return refuse(505, "HTTP Version Not Supported: only HTTP/1.1 and HTTP/1.0 are served");
  } else {
    return refuse(400, "Bad Request: malformed HTTP version");
  }
  if (target.empty()) return refuse(400, "Bad Request: empty request target");
  for (const char ch : target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e) return refuse(400, "Bad Request: the request target holds a character that is not allowed");
  }
  // Origin form only: this server is no proxy, and an absolute target would let the path checked
  // here differ from the one a proxy in front routed by.
  if (target == "*" && method == "OPTIONS") {
    head.path = "*";
  } else if (target.front() != '/') {
    return refuse(400, "Bad Request: the request target must be a path");
  } else {
    const auto question = target.find('?');
    head.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) head.query = std::string(target.substr(question + 1));
    if (head.path.find('#') != std::string::npos || head.query.find('#') != std::string::npos) {
      return refuse(400, "Bad Request: a fragment is never sent in a request target");
    }
  }
  head.method = std::string(method);
  head.target = std::string(target);
  return {};
}

tl::expected<void, HttpError> check_framing(RequestHead& head, const HeadLimits& limits) {
  std::size_t lengths = 0;
  std::size_t encodings = 0;
  for (const auto& header : head.headers) {
    if (same_name(header.name, "Content-Length")) ++lengths;
    if (same_name(header.name, "Transfer-Encoding")) ++encodings;
  }
  if (encodings > 0) {
    if (lengths > 0) {
      return refuse(400, "Bad Request: Transfer-Encoding and Content-Length together make the body's length ambiguous");
    }
    if (head.minor_version == 0) return refuse(400, "Bad Request: Transfer-Encoding is not allowed in HTTP/1.0");
    // Exactly as written: no other coding, no list, no other spelling.
    if (*head.header("Transfer-Encoding") != "chunked") {
      return refuse(501, "Not Implemented: the only Transfer-Encoding accepted is 'chunked'");
    }
    head.framing = BodyFraming::chunked;
  } else if (lengths > 0) {
    const auto length = parse_decimal(*head.header("Content-Length"));
    if (!length) return refuse(400, "Bad Request: Content-Length must be a decimal number of bytes");
    if (*length > limits.max_body_bytes) {
      return refuse(413, "Payload Too Large: the body may be at most " + std::to_string(limits.max_body_bytes) + " bytes");
    }
    head.framing = BodyFraming::length;
    head.content_length = *length;
  }
  if (head.has_body() && takes_no_body(head.method)) {
    return refuse(400, "Bad Request: " + head.method + " requests take no body");
  }
  return {};
}

}  // namespace

std::size_t skip_leading_blank_lines(std::string_view bytes) {
  std::size_t skipped = 0;
  for (int line = 0; line < 4 && bytes.substr(skipped, 2) == "\r\n"; ++line) skipped += 2;
  return skipped;
}

tl::expected<std::optional<std::size_t>, HttpError> find_head_end(std::string_view bytes, const HeadLimits& limits) {
  const auto line_end = bytes.find("\r\n");
  if (line_end == std::string_view::npos ? bytes.size() > limits.max_request_line : line_end > limits.max_request_line) {
    return refuse(414, "URI Too Long: the request line is too long");
  }
  const auto end = bytes.find("\r\n\r\n");
  const auto head_size = end == std::string_view::npos ? bytes.size() : end + 4;
  if (head_size > limits.max_head_bytes) {
    return refuse(431, "Request Header Fields Too Large: the request head may be at most " +
                           std::to_string(limits.max_head_bytes) + " bytes");
  }
  if (end == std::string_view::npos) return std::optional<std::size_t>();
  return std::optional<std::size_t>(end + 4);
}

tl::expected<RequestHead, HttpError> parse_request_head(std::string_view head, const HeadLimits& limits) {
  if (head.size() > limits.max_head_bytes) {
    return refuse(431, "Request Header Fields Too Large: the request head is too large");
  }
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n") {
    return refuse(400, "Bad Request: the request head must end with an empty line");
  }
  head.remove_suffix(2);  // each line below ends with its own CRLF
  // Every line ends with CRLF; a CR or LF anywhere else is how parsers are made to disagree.
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) return refuse(400, "Bad Request: a bare LF in the head");
    if (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) {
      return refuse(400, "Bad Request: a bare CR in the head");
    }
  }
  RequestHead parsed;
  std::size_t line_end = head.find("\r\n");
  if (auto line = parse_request_line(head.substr(0, line_end), limits, parsed); !line) return tl::unexpected(line.error());
  std::size_t start = line_end + 2;
  while (start < head.size()) {
    line_end = head.find("\r\n", start);
    const auto line = head.substr(start, line_end - start);
    start = line_end + 2;
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      return refuse(400, "Bad Request: folded header lines are not allowed");
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return refuse(400, "Bad Request: malformed header line (a header name, then ':' with no space before it)");
    }
    const auto value = trim_ows(line.substr(colon + 1));
    if (!is_field_value(value)) return refuse(400, "Bad Request: a header value holds a control character");
    if (parsed.headers.size() >= limits.max_header_count) {
      return refuse(431, "Request Header Fields Too Large: at most " + std::to_string(limits.max_header_count) +
                             " header fields");
    }
    parsed.headers.push_back(Header{std::string(line.substr(0, colon)), std::string(value)});
  }
  for (const auto name : kSingletonHeaders) {
    std::size_t count = 0;
    for (const auto& header : parsed.headers) count += same_name(header.name, name) ? 1 : 0;
    if (count > 1) return refuse(400, "Bad Request: the " + std::string(name) + " header appears more than once");
  }
  if (parsed.minor_version == 1 && !parsed.header("Host")) return refuse(400, "Bad Request: HTTP/1.1 requires Host");
  if (auto framing = check_framing(parsed, limits); !framing) return tl::unexpected(framing.error());
  if (const auto coding = parsed.header("Content-Encoding"); coding && !equals_ignoring_case(*coding, "identity")) {
    return refuse(415, "Unsupported Media Type: request bodies are accepted without Content-Encoding only");
  }
  if (const auto expect = parsed.header("Expect"); expect && !equals_ignoring_case(*expect, "100-continue")) {
    return refuse(417, "Expectation Failed: only 'Expect: 100-continue' is understood");
  }
  return parsed;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

}  // namespace http
