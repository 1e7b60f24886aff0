#pragma once

// A real MCP endpoint on our HTTP server on 127.0.0.1 (a free port), with fake tools, and the
// client helpers (an httplib client) the test_http_mcp_*.cpp files share. Header-only: only
// test_*.cpp files are built.

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "http/server.hpp"
#include "metrics/metrics.hpp"
#include "transport/mcp_endpoint.hpp"
#include "mcp/tool.hpp"

namespace test_http {

using nlohmann::json;
using namespace std::chrono_literals;

inline const std::string kToken = "test-token-0123456789abcdefghijklmnopqrstuv";

inline httplib::Headers auth_headers() { return {{"Authorization", "Bearer " + kToken}}; }

/// A tool that says when it started and then waits until its call is cancelled (or 10 s pass).
class BlockingTool {
 public:
  [[nodiscard]] mcp::ToolHandler handler() {
    return [this](const json&, mcp::ToolContext& context) -> core::Result<json> {
      std::unique_lock lock(m_mutex);
      m_started = true;
      m_changed.notify_all();
      m_changed.wait_for(lock, context.cancelled, 10s, [] { return false; });
      m_cancelled = context.cancelled.stop_requested();
      m_changed.notify_all();
      return json{{"content", json::array({json{{"type", "text"}, {"text", "unblocked"}}})}};
    };
  }
  bool wait_started() {
    return wait([this] { return m_started; });
  }
  bool wait_cancelled() {
    return wait([this] { return m_cancelled; });
  }

 private:
  template <typename Predicate>
  bool wait(Predicate predicate) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 10s, predicate);
  }
  std::mutex m_mutex;
  std::condition_variable_any m_changed;
  bool m_started = false;
  bool m_cancelled = false;
};

/// Options for a test endpoint: one token, fast keep-alives so vanished clients are noticed quickly.
inline transport::McpEndpointOptions test_options() {
  transport::McpEndpointOptions options;
  options.api_tokens = {kToken};
  options.server_version = "1.2.3";
  options.keepalive_interval = 50ms;
  return options;
}

/// An McpEndpoint with the tools "echo" (progress and log notifications, then its text) and "block"
/// mounted on a live server.
class McpServer {
 public:
  explicit McpServer(transport::McpEndpointOptions options = test_options())
      : m_server(server_options(), m_metrics) {
    tools.add({"echo", "Echo", "Echoes text", json{{"type", "object"}}, nullptr, nullptr},
              [](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
                for (int step = 1; step <= 3; ++step) {
                  context.progress(step, 3, "step " + std::to_string(step));
                }
                context.log("info", "echoing");
                const std::string text = arguments.value("text", "");
                return json{{"content", json::array({json{{"type", "text"}, {"text", text}}})}};
              });
    tools.add({"block", "", "Waits until cancelled", json{{"type", "object"}}, nullptr, nullptr}, blocking.handler());
    m_endpoint = std::make_unique<transport::McpEndpoint>(tools, std::move(options));
    m_endpoint->mount(m_server.routes());
    if (!m_server.bind()) throw std::runtime_error("cannot bind the test server");
    m_port = m_server.port();
    m_thread = std::thread([this] { m_server.run(); });
  }

  ~McpServer() {
    m_endpoint->shutdown();
    // stop() needs the accept loop running: wait until it answers.
    while (!httplib::Client("127.0.0.1", m_port).Get("/")) std::this_thread::yield();
    m_server.stop();
    m_thread.join();
  }
  McpServer(const McpServer&) = delete;
  McpServer& operator=(const McpServer&) = delete;

  /// A client for this server, sending the test token unless told not to.
  [[nodiscard]] httplib::Client client(bool with_token = true) const {
    httplib::Client client("127.0.0.1", m_port);
    if (with_token) client.set_default_headers(auth_headers());
    client.set_read_timeout(10, 0);
    return client;
  }

  [[nodiscard]] int port() const { return m_port; }
  [[nodiscard]] transport::McpEndpoint& endpoint() { return *m_endpoint; }

  mcp::ToolRegistry tools;
  BlockingTool blocking;

 private:
  static http::ServerOptions server_options() {
    http::ServerOptions options;
    options.address = "127.0.0.1:0";
    options.threads = 16;
    return options;
  }
  metrics::Metrics m_metrics;
  http::Server m_server;
  std::unique_ptr<transport::McpEndpoint> m_endpoint;
  int m_port = 0;
  std::thread m_thread;
};

/// The JSON messages in an SSE body, in order (comments and non-message events skipped).
inline std::vector<json> sse_messages(std::string_view body) {
  std::vector<json> messages;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find("\n\n", start);
    if (end == std::string_view::npos) end = body.size();
    const std::string_view event = body.substr(start, end - start);
    std::string data;
    bool is_message = true;
    std::size_t line_start = 0;
    while (line_start < event.size()) {
      auto line_end = event.find('\n', line_start);
      if (line_end == std::string_view::npos) line_end = event.size();
      const std::string_view line = event.substr(line_start, line_end - line_start);
      if (line.rfind("event: ", 0) == 0) is_message = line.substr(7) == "message";
      if (line.rfind("data: ", 0) == 0) data.append(line.substr(6));
      line_start = line_end + 1;
    }
    if (is_message && !data.empty()) messages.push_back(json::parse(data));
    start = end + 2;
  }
  return messages;
}

/// The answer in a POST's response, whether it came as JSON or as the last event of an SSE stream.
inline json final_message(const httplib::Result& result) {
  if (result->get_header_value("Content-Type") == "text/event-stream") {
    const auto messages = sse_messages(result->body);
    return messages.empty() ? json() : messages.back();
  }
  return json::parse(result->body);
}

/// Reads an SSE GET stream on a background thread, so a test can wait for what arrives.
class SseReader {
 public:
  SseReader(int port, std::string path, httplib::Headers headers = auth_headers()) {
    m_thread = std::thread([this, port, path = std::move(path), headers = std::move(headers)] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(10, 0);
      auto result = client.Get(
          path.c_str(), headers,
          [this](const httplib::Response& response) {
            const std::scoped_lock lock(m_mutex);
            m_status = response.status;
            m_changed.notify_all();
            return true;
          },
          [this](const char* data, std::size_t length) {
            const std::scoped_lock lock(m_mutex);
            m_data.append(data, length);
            m_changed.notify_all();
            return !m_stopping;  // keep-alives arrive often, so a stop takes effect quickly
          });
      const std::scoped_lock lock(m_mutex);
      if (m_status == 0 && result) m_status = result->status;
      m_ended = true;
      m_changed.notify_all();
    });
  }
  ~SseReader() { stop(); }
  SseReader(const SseReader&) = delete;
  SseReader& operator=(const SseReader&) = delete;

  /// Waits until `text` has arrived on the stream.
  bool wait_for(std::string_view text) {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 10s, [&] { return m_data.find(text) != std::string::npos; });
  }
  /// Waits until the stream has ended (either side closed it).
  bool wait_ended() {
    std::unique_lock lock(m_mutex);
    return m_changed.wait_for(lock, 10s, [&] { return m_ended; });
  }
  /// The HTTP status, once the response head has arrived (0 before).
  int status() {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, 10s, [&] { return m_status != 0 || m_ended; });
    return m_status;
  }
  [[nodiscard]] std::string received() {
    const std::scoped_lock lock(m_mutex);
    return m_data;
  }
  /// The client hangs up (at the next chunk) and the reader thread ends.
  void stop() {
    {
      const std::scoped_lock lock(m_mutex);
      m_stopping = true;
    }
    if (m_thread.joinable()) m_thread.join();
  }

 private:
  std::mutex m_mutex;
  std::condition_variable m_changed;
  std::string m_data;
  int m_status = 0;
  bool m_stopping = false;
  bool m_ended = false;
  std::thread m_thread;
};

/// Headers of a 2025-era POST.
inline httplib::Headers session_headers(const std::string& session_id = "", const std::string& version = "2025-06-18") {
  httplib::Headers headers{{"Accept", "application/json, text/event-stream"}};
  if (!version.empty()) headers.emplace("MCP-Protocol-Version", version);
  if (!session_id.empty()) headers.emplace("Mcp-Session-Id", session_id);
  return headers;
}

inline json request(const json& id, const std::string& method, json params = json::object()) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}};
}

/// POSTs an initialize request for `version` to /mcp, as a 2025 client's first message.
inline httplib::Result post_initialize(httplib::Client& client, const std::string& version = "2025-06-18") {
  return client.Post("/mcp", session_headers("", ""),
                     request("init", "initialize",
                             json{{"protocolVersion", version},
                                  {"capabilities", json::object()},
                                  {"clientInfo", json{{"name", "test"}, {"version", "1"}}}})
                         .dump(),
                     "application/json");
}

/// Runs initialize (and notifications/initialized) on /mcp; returns the session id.
inline std::string open_session(httplib::Client& client, const std::string& version = "2025-06-18") {
  const auto init = post_initialize(client, version);
  if (!init || init->status != 200) throw std::runtime_error("initialize failed");
  const std::string id = init->get_header_value("Mcp-Session-Id");
  const auto initialized = client.Post("/mcp", session_headers(id, version),
                                       R"({"jsonrpc":"2.0","method":"notifications/initialized"})", "application/json");
  if (!initialized || initialized->status != 202) throw std::runtime_error("notifications/initialized failed");
  return id;
}

/// A 2026-07-28 request with its _meta envelope, and the headers that must go with it.
inline json stateless_request(const json& id, const std::string& method, json params = json::object(),
                              const std::string& version = "2026-07-28") {
  params["_meta"]["io.modelcontextprotocol/protocolVersion"] = version;
  params["_meta"]["io.modelcontextprotocol/clientCapabilities"] = json::object();
  params["_meta"]["io.modelcontextprotocol/clientInfo"] = json{{"name", "test"}, {"version", "2"}};
  return request(id, method, std::move(params));
}

inline httplib::Headers stateless_headers(const std::string& method, const std::string& name = "",
                                          const std::string& version = "2026-07-28") {
  httplib::Headers headers{
      {"Accept", "application/json, text/event-stream"}, {"MCP-Protocol-Version", version}, {"Mcp-Method", method}};
  if (!name.empty()) headers.emplace("Mcp-Name", name);
  return headers;
}

}  // namespace test_http
