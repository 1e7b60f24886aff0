#include <catch2/catch.hpp>

#include <string>

#include "http/request_head.hpp"

namespace {

http::HeadLimits limits() {
  http::HeadLimits limits;
  limits.max_body_bytes = 1000;
  return limits;
}

// The status a head is refused with, or 0 when it is accepted.
int status_of(const std::string& head) {
  const auto parsed = http::parse_request_head(head, limits());
  return parsed ? 0 : parsed.error().status;
}

// A POST /mcp head with `headers` (each "Name: value\r\n").
std::string post(const std::string& headers, const std::string& version = "HTTP/1.1") {
  return "POST /mcp " + version + "\r\nHost: x\r\n" + headers + "\r\n";
}

}  // namespace

TEST_CASE("request head: a plain request is read as written", "[request_head]") {
  const auto head = http::parse_request_head(
      "GET /files/ab/c%20d?exp=1&sig=x HTTP/1.1\r\nHost: example\r\nAccept:  text/plain \r\n\r\n", limits());
  REQUIRE(head);
  CHECK(head->method == "GET");
  CHECK(head->path == "/files/ab/c%20d");  // never decoded here
  CHECK(head->query == "exp=1&sig=x");
  CHECK(head->minor_version == 1);
  CHECK(head->header("accept") == "text/plain");
  CHECK(head->framing == http::BodyFraming::none);
  CHECK_FALSE(head->has_body());
}

TEST_CASE("request head: framing that two parsers could read differently is refused", "[request_head]") {
  CHECK(status_of(post("")) == 0);
  CHECK(status_of(post("Content-Length: 1000\r\n")) == 0);
  CHECK(status_of(post("Content-Length: 12 \r\n")) == 0);
  CHECK(status_of(post("Transfer-Encoding: chunked\r\n")) == 0);
  CHECK(status_of(post("Accept: a\r\nAccept: b\r\n")) == 0);  // list headers may repeat

  CHECK(status_of(post("Content-Length: 5\r\nContent-Length: 5\r\n")) == 400);
  CHECK(status_of(post("Content-Length: 5\r\ncontent-length: 6\r\n")) == 400);
  CHECK(status_of(post("Content-Length: -1\r\n")) == 400);
  CHECK(status_of(post("Content-Length: +5\r\n")) == 400);
  CHECK(status_of(post("Content-Length: 5, 5\r\n")) == 400);
  CHECK(status_of(post("Content-Length: \r\n")) == 400);
  CHECK(status_of(post("Content-Length: 0x10\r\n")) == 400);
  CHECK(status_of(post("Content-Length: 99999999999999999999999\r\n")) == 400);
  CHECK(status_of(post("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")) == 400);
  CHECK(status_of(post("Transfer-Encoding: chunked\r\n", "HTTP/1.0")) == 400);
  CHECK(status_of(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")) == 400);
  CHECK(status_of(post("MCP-Protocol-Version: 2025-06-18\r\nmcp-protocol-version: 2024-11-05\r\n")) == 400);
  CHECK(status_of(post("Authorization: Bearer a\r\nAuthorization: Bearer b\r\n")) == 400);
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(status_of("POST /mcp HTTP/1.1\r\n\r\n") == 400);  // HTTP/1.1 without Host
  CHECK(status_of("GET /mcp HTTP/1.0\r\n\r\n") == 0);      // HTTP/1.0 may leave it out

  CHECK(status_of(post("Content-Length: 1001\r\n")) == 413);
  CHECK(status_of(post("Content-Length: 10737418240\r\n")) == 413);
  const auto refused = http::parse_request_head(post("Content-Length: 5\r\nContent-Length: 6\r\n"), limits());
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("Content-Length"));
}

TEST_CASE("request head: Transfer-Encoding must be exactly 'chunked' as written", "[request_head]") {
  const auto coding = GENERATE(as<std::string>{}, "Chunked", "CHUNKED", "chunked, identity", "gzip, chunked",
                               "identity", "chunked;q=1", "%63hunked", "chunk\x65" "d ,", "\"chunked\"");
  CAPTURE(coding);
  CHECK(status_of(post("Transfer-Encoding: " + coding + "\r\n")) >= 400);
}

TEST_CASE("request head: whitespace and line tricks are refused", "[request_head]") {
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n") == 400);  // space before ':'
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n") == 400);  // obs-fold
  CHECK(status_of("POST /mcp HTTP/1.1\nHost: x\n\n") == 400);            // bare LF
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: x\rX: y\r\n\r\n") == 400);  // bare CR
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: x\r\nX: a\x01z\r\n\r\n") == 400);  // control character
  CHECK(status_of(std::string("POST /mcp HTTP/1.1\r\nHost: x\r\nX: a") + '\0' + "z\r\n\r\n") == 400);
  CHECK(status_of("POST  /mcp HTTP/1.1\r\nHost: x\r\n\r\n") == 400);     // two spaces
  CHECK(status_of("POST /mcp  HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  CHECK(status_of("POST /m cp HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  CHECK(status_of("POST http://other/mcp HTTP/1.1\r\nHost: x\r\n\r\n") == 400);  // absolute form
  CHECK(status_of("POST /mcp HTTP/2.0\r\nHost: x\r\n\r\n") == 505);
  CHECK(status_of("POST /mcp HTTP/1.1 \r\nHost: x\r\n\r\n") == 400);
  CHECK(status_of("PO(ST /mcp HTTP/1.1\r\nHost: x\r\n\r\n") == 400);
  CHECK(status_of("POST /mcp HTTP/1.1\r\nHost: x\r\n: novalue\r\n\r\n") == 400);
}

TEST_CASE("request head: bodies on methods that take none, codings and Expect", "[request_head]") {
  for (const std::string method : {"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"}) {
    CAPTURE(method);
    CHECK(status_of(method + " /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n") == 400);
    CHECK(status_of(method + " /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == 400);
    CHECK(status_of(method + " /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n") == 0);
  }
  for (const std::string coding : {"gzip", "deflate", "br", "x-gzip", "compress", "zstd", "gzip, identity"}) {
    CAPTURE(coding);
    CHECK(status_of(post("Content-Length: 10\r\nContent-Encoding: " + coding + "\r\n")) == 415);
  }
  CHECK(status_of(post("Content-Length: 10\r\nContent-Encoding: identity\r\n")) == 0);
  CHECK(status_of(post("Content-Length: 10\r\nExpect: 100-continue\r\n")) == 0);
  CHECK(status_of(post("Content-Length: 10\r\nExpect: something-else\r\n")) == 417);
}

TEST_CASE("request head: budgets for the line, the head and the header count", "[request_head]") {
  const auto budget = limits();
  CHECK(status_of("GET /" + std::string(budget.max_request_line, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n") == 414);
  std::string many;
  for (std::size_t i = 0; i <= budget.max_header_count; ++i) many += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(status_of(post(many)) == 431);
  CHECK(status_of(post("X-Big: " + std::string(budget.max_head_bytes, 'b') + "\r\n")) == 431);

  // find_head_end refuses while the head is still arriving, before it is complete.
  CHECK(http::find_head_end("GET / HTTP/1.1\r\nHost: x\r\n", budget).value() == std::nullopt);
  CHECK(http::find_head_end("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody", budget).value() == std::optional<std::size_t>(27));
  CHECK(http::find_head_end(std::string(budget.max_request_line + 1, 'a'), budget).error().status == 414);
  CHECK(http::find_head_end("GET / HTTP/1.1\r\n" + std::string(budget.max_head_bytes, 'h'), budget).error().status == 431);
  CHECK(http::skip_leading_blank_lines("\r\n\r\nGET") == 4);
}
