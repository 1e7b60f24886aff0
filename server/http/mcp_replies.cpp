#include "http/mcp_replies.hpp"

#include <algorithm>
#include <chrono>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "http/sse_stream.hpp"

namespace http {

bool admit_post(const McpRuntime& runtime, const httplib::Request& request, httplib::Response& response) {
  if (runtime.stopping) {
    send_rpc_error(request, response, 503, nullptr,
                   mcp::RpcError{mcp::error_code::internal_error, "The server is shutting down", nullptr});
    return false;
  }
  if (!is_json_content_type(request.get_header_value("Content-Type"))) {
    response.status = 415;
    log_refusal(request, 415, "Content-Type is not application/json");
    return false;
  }
  return true;
}

void send_json(httplib::Response& response, int status, const nlohmann::json& message) {
  response.status = status;
  response.set_content(mcp::encode(message), "application/json");
}

void send_rpc_error(const httplib::Request& request, httplib::Response& response, int status, const nlohmann::json& id,
                    const mcp::RpcError& error) {
  log_refusal(request, status, error.message);
  send_json(response, status, mcp::error_response(id, error));
}

void send_accepted(httplib::Response& response) {
  response.status = 202;
  response.body.clear();
}

void send_message(httplib::Response& response, const nlohmann::json& message, const Acceptable& accept) {
  if (accept.json) {
    send_json(response, 200, message);
    return;
  }
  response.status = 200;
  response.set_header("Cache-Control", "no-cache");
  response.set_content(sse_event(mcp::encode(message)), "text/event-stream");
}

void stream_messages(McpRuntime& runtime, const httplib::Request& request, httplib::Response& response,
                     Producer produce, bool cancel_on_disconnect) {
  auto queue = std::make_shared<SseQueue>();
  std::stop_source stop;
  const bool started = runtime.tasks.spawn([queue, stop, produce = std::move(produce)](std::stop_token shutdown) {
    const std::stop_callback forward(shutdown, [stop]() mutable { stop.request_stop(); });
    const mcp::Outbound notify = [queue](const nlohmann::json& message) {
      queue->push(sse_event(mcp::encode(message)));
    };
    produce(notify, stop.get_token());
    queue->close();
  });
  if (!started) {
    send_rpc_error(request, response, 503, nullptr,
                   mcp::RpcError{mcp::error_code::internal_error, "The server is shutting down", nullptr});
    return;
  }
  // A vanished client is only noticed when a write fails, so a stream whose
  // disconnect cancels the call writes a keep-alive every second while it runs.
  const auto keepalive =
      cancel_on_disconnect ? std::min(runtime.keepalive, std::chrono::milliseconds(1000)) : runtime.keepalive;
  stream_queue(response, queue, keepalive, [stop, cancel_on_disconnect]() mutable {
    if (cancel_on_disconnect) stop.request_stop();
  });
}

void log_refusal(const httplib::Request& request, int status, std::string_view reason) {
  spdlog::info("mcp http {} {} refused status={} reason={}", request.method, request.path, status, reason);
}

}  // namespace http
