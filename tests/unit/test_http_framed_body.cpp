#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "http/framed_body.hpp"

namespace {

// A body source over `wire`, counting what was taken from it.
struct Wire {
  explicit Wire(std::string bytes) : data(std::move(bytes)) {}
  http::FramedBody::ReadSome reader() {
    return [this](char* out, std::size_t size) -> long {
      const auto count = std::min(size, data.size() - taken);
      if (count == 0) return 0;
      std::memcpy(out, data.data() + taken, count);
      taken += count;
      return static_cast<long>(count);
    };
  }
  std::string data;
  std::size_t taken = 0;
};

http::RequestHead chunked() {
  http::RequestHead head;
  head.framing = http::BodyFraming::chunked;
  return head;
}

http::RequestHead length(std::uint64_t bytes) {
  http::RequestHead head;
  head.framing = http::BodyFraming::length;
  head.content_length = bytes;
  return head;
}

}  // namespace

TEST_CASE("framed body: Content-Length bodies are read exactly", "[framed_body]") {
  Wire wire("hello, worldGET / HTTP/1.1");
  http::FramedBody body(length(12), wire.reader());
  CHECK(body.read_all(100).value() == "hello, world");
  CHECK(wire.taken == 12);  // the next request is left alone
}

TEST_CASE("framed body: an announced length over the budget is refused unread", "[framed_body]") {
  Wire wire(std::string(2000, 'x'));
  bool continued = false;
  http::FramedBody body(length(2000), wire.reader(), [&] { continued = true; });
  const auto read = body.read_all(1000);
  REQUIRE_FALSE(read);
  CHECK(read.error().status == 413);
  CHECK(wire.taken == 0);
  CHECK_FALSE(continued);  // no "100 Continue" for a body that will be refused
}

TEST_CASE("framed body: chunked bodies are decoded, extensions and trailers dropped", "[framed_body]") {
  Wire wire("5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\nNEXT");
  http::FramedBody body(chunked(), wire.reader());
  CHECK(body.read_all(100).value() == "hello, world");
  CHECK(wire.data.substr(wire.taken) == "NEXT");
}

TEST_CASE("framed body: a chunked body is refused as soon as it would cross the budget", "[framed_body]") {
  std::string wire_bytes;
  for (int i = 0; i < 100; ++i) wire_bytes += "100\r\n" + std::string(256, 'c') + "\r\n";
  Wire wire(wire_bytes);
  http::FramedBody body(chunked(), wire.reader());
  const auto read = body.read_all(1000);
  REQUIRE_FALSE(read);
  CHECK(read.error().status == 413);
  CHECK(wire.taken < 2000);  // at most the chunks within the budget, never the rest
  // A single huge chunk is refused from its size line alone.
  Wire huge("fffffffffffff\r\n");
  http::FramedBody big(chunked(), huge.reader());
  CHECK(big.read_all(1000).error().status == 413);
  CHECK(huge.taken == huge.data.size());
}

TEST_CASE("framed body: malformed chunked framing is 400", "[framed_body]") {
  const auto wire_bytes = GENERATE(as<std::string>{},
                                   "5\nhello\r\n0\r\n\r\n",        // bare LF
                                   "5\r\nhelloXX\r\n0\r\n\r\n",    // data longer than its size
                                   "g\r\nhello\r\n0\r\n\r\n",      // not hex
                                   "\r\nhello\r\n0\r\n\r\n",       // no size
                                   "-5\r\nhello\r\n0\r\n\r\n",     // sign
                                   "0x5\r\nhello\r\n0\r\n\r\n",    // prefix
                                   "1000000000000000\r\n",         // 16 hex digits
                                   "5\r\nhel");                    // ends early
  CAPTURE(wire_bytes);
  Wire wire(wire_bytes);
  http::FramedBody body(chunked(), wire.reader());
  const auto read = body.read_all(1 << 20);
  REQUIRE_FALSE(read);
  CHECK(read.error().status == 400);
}

TEST_CASE("framed body: a chunk line or trailer section without end is bounded", "[framed_body]") {
  Wire endless_line("5;" + std::string(10000, 'e'));
  http::FramedBody line(chunked(), endless_line.reader());
  CHECK(line.read_all(1 << 20).error().status == 400);
  CHECK(endless_line.taken < 2048);
  std::string trailers = "0\r\n";
  for (int i = 0; i < 100; ++i) trailers += "X-T: v\r\n";
  Wire many(trailers);
  http::FramedBody trailer(chunked(), many.reader());
  CHECK(trailer.read_all(1 << 20).error().status == 431);
}
