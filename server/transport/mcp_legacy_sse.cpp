#include "transport/mcp_legacy_sse.hpp"

#include "http/message.hpp"
#include <algorithm>
#include <string>
#include <utility>

#include "core/random.hpp"
#include "transport/mcp_headers.hpp"
#include "transport/mcp_replies.hpp"
#include "transport/sse_stream.hpp"
#include "mcp/session_messages.hpp"

namespace transport {

using nlohmann::json;

namespace {

constexpr std::size_t kSessionIdBytes = 16;

mcp::RpcError transport_error(std::string message) {
  return mcp::RpcError{mcp::error_code::invalid_request, std::move(message), nullptr};
}

}  // namespace

void LegacySse::open(http::Request& request, http::Response& response, const Caller& caller) {
  if (m_runtime->stopping) {
    send_rpc_error(request, response, 503, nullptr, transport_error("The server is shutting down"));
    return;
  }
  if (!parse_accept(request.header("Accept")).sse) {
    send_rpc_error(request, response, 406, nullptr, transport_error("Accept must allow text/event-stream"));
    return;
  }
  // Until initialize negotiates a revision, the session speaks the one this transport was made for.
  auto session = std::make_shared<mcp::Session>(core::random_hex(kSessionIdBytes), "2024-11-05");
  session->set_caller(caller.id);
  auto events = std::make_shared<SseQueue>();
  if (!m_runtime->sessions.add(session, SessionTransport::legacy_sse, events, caller.id)) {
    send_rpc_error(request, response, 503, nullptr, transport_error("Too many open sessions; try again later"));
    return;
  }
  // A path relative to this host, as the 2024-11-05 clients resolve it against the stream's URL.
  events->push(sse_event("/messages?sessionId=" + session->id(), "endpoint"));
  // Resource notifications of the session go out on its one stream, like everything else.
  auto forwarding = forward_resource_events(*m_runtime, session, events);
  stream_queue(response, events, m_runtime->keepalive, [runtime = m_runtime, id = session->id(), forwarding] {
    if (forwarding) forwarding->reset();
    // The client went away (or the server stops): the session ends and its running calls stop.
    runtime->sessions.remove(id, SessionTransport::legacy_sse);
  });
}

void LegacySse::post(http::Request& request, http::Response& response, const Caller& caller) {
  if (!admit_post(*m_runtime, request, response)) return;
  const std::string session_id = request.query_param("sessionId");
  if (session_id.empty()) {
    send_rpc_error(request, response, 400, nullptr,
                   transport_error("Bad Request: the sessionId parameter is required"));
    return;
  }
  auto lease = m_runtime->sessions.acquire(session_id, SessionTransport::legacy_sse, caller.id);
  if (!lease) {
    send_rpc_error(request, response, 404, nullptr, transport_error("Session not found: open a new stream"));
    return;
  }
  const auto& raw = request.body();
  if (!raw) {
    send_body_error(request, response, raw.error());
    return;
  }
  auto body = mcp::decode(*raw);
  if (!body) {
    send_rpc_error(request, response, 400, nullptr, body.error());
    return;
  }
  if (!admit_batch(request, response, *body) || !m_runtime->limits.admit_tool_calls(request, caller, response, *body)) return;
  auto events = lease->events();
  const mcp::Outbound notify = [events](const json& message) { events->push(sse_event(mcp::encode(message))); };
  auto answer = [&dispatcher = m_runtime->dispatcher, notify](mcp::Session& session, const json& message) {
    if (auto reply = mcp::handle_session_body(dispatcher, session, message, notify, mcp::CancelledReplies::drop)) {
      notify(*reply);
    }
  };
  // Calls that may run for long are answered from a task, so this POST can return 202 at once and a
  // later notifications/cancelled for them is not stuck behind them.
  if (count_tool_calls(*body) > 0) {
    auto shared_lease = std::make_shared<SessionStore::Lease>(std::move(*lease));
    const bool started = m_runtime->tasks.spawn([answer, shared_lease, message = std::move(*body)](std::stop_token) {
      answer(shared_lease->session(), message);  // the session's own tokens stop the call
    });
    if (!started) {
      send_rpc_error(request, response, 503, nullptr, transport_error("The server is shutting down"));
      return;
    }
  } else {
    answer(lease->session(), *body);
  }
  response.status = 202;
  response.set_content("Accepted", "text/plain");
}

}  // namespace transport
