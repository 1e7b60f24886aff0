#include "transport/mcp_replies.hpp"

#include <algorithm>
#include <chrono>

#include "http/message.hpp"
#include <spdlog/spdlog.h>

#include <memory>
#include <utility>

#include "core/encoding.hpp"
#include "transport/sse_stream.hpp"

namespace transport {

bool admit_post(const McpRuntime& runtime, const http::Request& request, http::Response& response) {
  if (runtime.stopping) {
    send_rpc_error(request, response, 503, nullptr,
                   mcp::RpcError{mcp::error_code::internal_error, "The server is shutting down", nullptr});
    return false;
  }
  if (!is_json_content_type(request.header("Content-Type"))) {
    response.status = 415;
    log_refusal(request, 415, "Content-Type is not application/json");
    return false;
  }
  return true;
}

std::shared_ptr<mcp::ResourceEvents::Subscription> forward_resource_events(const McpRuntime& runtime,
                                                                          std::weak_ptr<mcp::Session> session,
                                                                          std::shared_ptr<SseQueue> events) {
  mcp::ResourceEvents* hub = runtime.dispatcher.resource_events();
  if (hub == nullptr) return nullptr;
  // The filter is read at each change, so a resources/subscribe made after the stream opened counts.
  return std::make_shared<mcp::ResourceEvents::Subscription>(
      hub->subscribe([session = std::move(session), events = std::move(events)](const mcp::ResourceChange& change) {
        const auto alive = session.lock();
        if (!alive) return;
        for (const auto& notification : mcp::resource_notifications(change, alive->resource_filter())) {
          events->push(sse_event(mcp::encode(notification)));
        }
      }));
}

void send_json(http::Response& response, int status, const nlohmann::json& message) {
  response.status = status;
  response.set_content(mcp::encode(message), "application/json");
}

void send_rpc_error(const http::Request& request, http::Response& response, int status, const nlohmann::json& id,
                    const mcp::RpcError& error) {
  log_refusal(request, status, error.message);
  send_json(response, status, mcp::error_response(id, error));
}

bool admit_batch(const http::Request& request, http::Response& response, const nlohmann::json& body) {
  if (!body.is_array() || body.size() <= kMaxBatchMessages) return true;
  send_rpc_error(request, response, 400, nullptr,
                 mcp::RpcError{mcp::error_code::invalid_request,
                               "Bad Request: a batch may hold at most " + std::to_string(kMaxBatchMessages) + " messages",
                               nullptr});
  return false;
}

void send_body_error(const http::Request& request, http::Response& response, const http::HttpError& error) {
  send_rpc_error(request, response, error.status, nullptr,
                 mcp::RpcError{mcp::error_code::invalid_request, error.message, nullptr});
  response.close = true;
}

void send_accepted(http::Response& response) {
  response.status = 202;
  response.body.clear();
}

void send_message(http::Response& response, const nlohmann::json& message, const Acceptable& accept) {
  if (accept.json) {
    send_json(response, 200, message);
    return;
  }
  response.status = 200;
  response.set_header("Cache-Control", "no-cache");
  response.set_content(sse_event(mcp::encode(message)), "text/event-stream");
}

void stream_messages(McpRuntime& runtime, const http::Request& request, http::Response& response,
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

void log_refusal(const http::Request& request, int status, std::string_view reason) {
  // Reasons may quote what the caller sent (a header value): escaped like the path.
  spdlog::info("mcp http {} {} refused status={} reason={}", core::printable(request.method(), 16),
               core::printable(request.path()), status, core::printable(reason));
}

}  // namespace transport
