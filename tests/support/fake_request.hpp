#pragma once

// http::Request and http::Response built in memory: the seam the MCP transports and routes are
// written against, so they are tested without a socket.

#include <string>
#include <utility>
#include <vector>

#include "http/message.hpp"
#include "http/request_head.hpp"

namespace test_http {

/// A body that is all in memory, read within the budget like a real one.
class StringBody final : public http::BodySource {
 public:
  explicit StringBody(std::string body) : m_body(std::move(body)) {}
  tl::expected<std::string, http::HttpError> read_all(std::uint64_t max_bytes) override {
    ++reads;
    if (m_body.size() > max_bytes) return tl::unexpected(http::HttpError{413, "Payload Too Large"});
    return m_body;
  }
  int reads = 0;

 private:
  std::string m_body;
};

/// A request as a handler would get it. Not copyable or movable (the request points at its body):
/// build it in place, e.g. `return FakeRequest(...)`.
class FakeRequest {
 public:
  explicit FakeRequest(std::string method = "GET", std::string target = "/", std::vector<http::Header> headers = {},
                       std::string body = "", std::string client = "127.0.0.1", std::uint64_t max_body = 1 << 20)
      : m_body_size(body.size()), m_body(std::move(body)), m_request(head(std::move(method), std::move(target), std::move(headers), m_body_size),
                                           peer(std::move(client)), m_body, max_body) {}
  FakeRequest(const FakeRequest&) = delete;
  FakeRequest& operator=(const FakeRequest&) = delete;

  operator http::Request&() { return m_request; }              // NOLINT: used where a request is expected
  operator const http::Request&() const { return m_request; }  // NOLINT
  http::Request& get() { return m_request; }
  [[nodiscard]] int body_reads() const { return m_body.reads; }

 private:
  static http::RequestHead head(std::string method, std::string target, std::vector<http::Header> headers,
                                std::size_t body_size) {
    http::RequestHead head;
    head.method = std::move(method);
    head.target = target;
    const auto question = target.find('?');
    head.path = target.substr(0, question);
    if (question != std::string::npos) head.query = target.substr(question + 1);
    head.headers = std::move(headers);
    head.headers.push_back({"Host", "127.0.0.1:8080"});
    if (body_size > 0) {
      head.framing = http::BodyFraming::length;
      head.content_length = body_size;
    }
    return head;
  }
  static http::Peer peer(std::string client) {
    http::Peer peer;
    peer.address = client;
    peer.client = std::move(client);
    peer.local_address = "127.0.0.1";
    peer.local_port = 8080;
    return peer;
  }

  std::size_t m_body_size = 0;
  StringBody m_body;
  http::Request m_request;
};

}  // namespace test_http
