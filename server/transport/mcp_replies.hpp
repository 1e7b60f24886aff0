#pragma once

#include "http/message.hpp"
#include <functional>
#include <memory>
#include <string>
#include <nlohmann/json.hpp>
#include <stop_token>
#include <string_view>

#include "transport/mcp_headers.hpp"
#include "transport/mcp_runtime.hpp"
#include "transport/sse_stream.hpp"
#include "mcp/json_rpc.hpp"

namespace transport {

/// The checks every MCP POST passes first: 503 while shutting down, 415 unless the body is
/// application/json. False (and `response` written) when the request is refused.
[[nodiscard]] bool admit_post(const McpRuntime& runtime, const http::Request& request, http::Response& response);

/// Queues, on `events`, the resource notifications of `session`'s stream for each change, from now
/// until the returned subscription is dropped; null when the server has no resource events.
[[nodiscard]] std::shared_ptr<mcp::ResourceEvents::Subscription> forward_resource_events(
    const McpRuntime& runtime, std::weak_ptr<mcp::Session> session, std::shared_ptr<SseQueue> events);

/// Writes one JSON-RPC message as an application/json body with `status`.
void send_json(http::Response& response, int status, const nlohmann::json& message);

/// Writes a JSON-RPC error response with `status` and logs why the request was refused.
void send_rpc_error(const http::Request& request, http::Response& response, int status, const nlohmann::json& id,
                    const mcp::RpcError& error);

/// The most messages one JSON-RPC batch may hold: each may start work, so a batch is bounded like a body.
inline constexpr std::size_t kMaxBatchMessages = 64;

/// False (and a 400 JSON-RPC error written) when `body` is a batch longer than kMaxBatchMessages.
[[nodiscard]] bool admit_batch(const http::Request& request, http::Response& response, const nlohmann::json& body);

/// Answers a body that could not be read (413 over the size limit, 400 broken framing, 408 too
/// slow) with a JSON-RPC error; the connection closes after it, as the body's rest was never read.
void send_body_error(const http::Request& request, http::Response& response, const http::HttpError& error);

/// 202 Accepted with no body: the answer to notifications and client responses.
void send_accepted(http::Response& response);

/// Writes one message as JSON when the client accepts it, otherwise as a one-event SSE stream.
void send_message(http::Response& response, const nlohmann::json& message, const Acceptable& accept);

/// Produces the messages of one request on a worker thread: notifications through `notify` as they
/// happen, then the answer; `stop` stops when the request is to end (shutdown, or a closed stream).
using Producer = std::function<void(const mcp::Outbound& notify, std::stop_token stop)>;

/// Streams what `produce` sends as the text/event-stream body of `response`, the work running on its
/// own thread while this HTTP worker writes. With `cancel_on_disconnect` a vanished client stops the
/// work (2026-07-28: closing the stream is cancellation); 2025 revisions keep running, as their spec
/// says a disconnect is not a cancellation. 503 when the server is shutting down.
void stream_messages(McpRuntime& runtime, const http::Request& request, http::Response& response,
                     Producer produce, bool cancel_on_disconnect);

/// Logs a request refused before the dispatcher saw it (never a header value or body).
void log_refusal(const http::Request& request, int status, std::string_view reason);

}  // namespace transport
