// Feeds arbitrary bytes to the request head reader, the head parser and the chunked body decoder,
// as a connection would: must never crash, read past its input, or accept a head that breaks the
// framing rules (a body on GET, Transfer-Encoding beside Content-Length, a length over the cap).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "http/framed_body.hpp"
#include "http/request_head.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  http::HeadLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_request_line = 1024;
  limits.max_body_bytes = 1024;
  bytes.remove_prefix(http::skip_leading_blank_lines(bytes));
  const auto end = http::find_head_end(bytes, limits);
  if (!end || !*end) return 0;
  const auto head = http::parse_request_head(bytes.substr(0, **end), limits);
  if (!head) {
    if (head.error().status < 400 || head.error().message.empty()) std::abort();
    return 0;
  }
  // What an accepted head promises.
  if (head->framing == http::BodyFraming::length && head->content_length > limits.max_body_bytes) std::abort();
  if (head->header("Transfer-Encoding") && head->header("Content-Length")) std::abort();
  if (head->has_body() && (head->method == "GET" || head->method == "HEAD")) std::abort();
  if (head->path.empty()) std::abort();
  auto rest = bytes.substr(**end);
  http::FramedBody body(*head, [&rest](char* out, std::size_t want) -> long {
    const auto count = std::min(want, rest.size());
    std::memcpy(out, rest.data(), count);
    rest.remove_prefix(count);
    return static_cast<long>(count);
  });
  const auto read = body.read_all(limits.max_body_bytes);
  if (read && read->size() > limits.max_body_bytes) std::abort();
  return 0;
}
