#include "transport/mcp_streamable.hpp"

#include "http/message.hpp"
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "core/random.hpp"
#include "transport/mcp_replies.hpp"
#include "mcp/envelope.hpp"
#include "mcp/protocol_version.hpp"
#include "mcp/session_messages.hpp"

namespace transport {

using nlohmann::json;

namespace {

constexpr std::string_view kSessionHeader = "Mcp-Session-Id";
// 128 bits from the kernel's CSPRNG: unguessable, and visible ASCII as the spec requires.
constexpr std::size_t kSessionIdBytes = 16;

std::optional<std::string> header(http::Request& request, const char* name) {
  if (!request.has_header(name)) return std::nullopt;
  return request.header(name);
}

mcp::RpcError bad_request(std::string message) {
  return mcp::RpcError{mcp::error_code::invalid_request, "Bad Request: " + std::move(message), nullptr};
}

// The id to put on a transport-level error: the request's, when the body is a single request.
json id_of(const json& body) {
  return body.is_object() && body.contains("id") && mcp::is_request_id(body["id"]) ? body["id"] : json();
}

// Notifications can only reach a client through a stream, so a call streams exactly when it may send some.
bool wants_stream(const mcp::Request& request, bool logging_on) {
  return request.method == "tools/call" && (!mcp::progress_token(request.params).is_null() || logging_on);
}

}  // namespace

void StreamableHttp::post(http::Request& request, http::Response& response, const Caller& caller) {
  if (!admit_post(m_runtime, request, response)) return;
  const Acceptable accept = parse_accept(request.header("Accept"));
  if (!accept.json && !accept.sse) {
    send_rpc_error(request, response, 406, nullptr,
                   bad_request("Accept must allow application/json or text/event-stream"));
    return;
  }
  const auto& raw = request.body();
  if (!raw) {
    send_body_error(request, response, raw.error());
    return;
  }
  const auto body = mcp::decode(*raw);
  if (!body) {
    send_rpc_error(request, response, 400, nullptr, body.error());
    return;
  }
  if (!admit_batch(request, response, *body) || !m_runtime.limits.admit_tool_calls(request, caller, response, *body)) return;
  McpHeaders headers{header(request, "MCP-Protocol-Version"), header(request, "Mcp-Method"),
                     header(request, "Mcp-Name")};
  const auto route = route_post(headers, *body);
  if (const auto* rejection = std::get_if<Rejection>(&route)) {
    send_rpc_error(request, response, rejection->status, rejection->id, rejection->error);
    return;
  }
  if (std::get<Era>(route) == Era::stateless) {
    post_stateless(request, response, caller, headers, *body, accept);
  } else {
    post_session(request, response, caller, headers, *body, accept);
  }
}

void StreamableHttp::post_stateless(http::Request& request, http::Response& response, const Caller& caller,
                                    const McpHeaders& headers, const json& body, const Acceptable& accept) {
  const mcp::Message message = mcp::parse_message(body);
  if (const auto* invalid = std::get_if<mcp::InvalidMessage>(&message)) {
    send_rpc_error(request, response, 400, invalid->id, invalid->error);
    return;
  }
  const auto* call = std::get_if<mcp::Request>(&message);
  if (call == nullptr) {
    // No client notification means anything over stateless HTTP (closing a stream cancels), so accept and drop it.
    send_accepted(response);
    return;
  }
  if (const auto claimed = mcp::claimed_version(call->params)) {
    if (auto rejection = check_stateless_headers(headers, *call, *claimed)) {
      send_rpc_error(request, response, rejection->status, rejection->id, rejection->error);
      return;
    }
  }
  const auto envelope = mcp::read_envelope(call->params);
  if (!envelope) {
    send_rpc_error(request, response, 400, call->id, envelope.error());
    return;
  }
  const bool listen = call->method == "subscriptions/listen";
  if (listen && !accept.sse) {
    send_rpc_error(request, response, 406, call->id,
                   bad_request("subscriptions/listen answers with a stream: Accept text/event-stream"));
    return;
  }
  // In this revision closing the request's stream is the only way a client cancels, and only a
  // streamed reply notices that the client went away: so a tool call always streams when it may.
  const bool cancellable = call->method == "tools/call";
  if (accept.sse && (listen || !accept.json || cancellable)) {
    stream_messages(
        m_runtime, request, response,
        [&dispatcher = m_runtime.dispatcher, call = *call, envelope = *envelope,
         caller = caller.id](const mcp::Outbound& notify, std::stop_token stop) {
          auto context = mcp::Dispatcher::stateless_context(envelope, std::move(stop), notify);
          context.caller = caller;
          notify(dispatcher.answer(call, context));
        },
        /*cancel_on_disconnect=*/true);
    return;
  }
  std::stop_source stop;
  const auto tracked = m_runtime.tasks.track(stop);
  auto context = mcp::Dispatcher::stateless_context(*envelope, stop.get_token(), {});
  context.caller = caller.id;
  const json reply = m_runtime.dispatcher.answer(*call, context);
  // The one dispatcher error with its own status: an unknown method is 404 on this revision.
  send_json(response, mcp::is_error_response(reply, mcp::error_code::method_not_found) ? 404 : 200, reply);
}

void StreamableHttp::post_session(http::Request& request, http::Response& response, const Caller& caller,
                                  const McpHeaders& headers, const json& body, const Acceptable& accept) {
  if (headers.protocol_version) {
    const mcp::Revision* revision = mcp::find_revision(*headers.protocol_version);
    if (revision == nullptr || revision->stateless) {
      send_rpc_error(request, response, 400, id_of(body),
                     bad_request("unsupported MCP-Protocol-Version " + *headers.protocol_version));
      return;
    }
  }
  std::optional<mcp::Request> single;
  if (body.is_object()) {
    if (auto parsed = mcp::parse_message(body); std::holds_alternative<mcp::Request>(parsed)) {
      single = std::get<mcp::Request>(std::move(parsed));
    }
  }
  if (single && single->method == "initialize") {
    initialize(request, response, caller, *single, accept);  // a new session, whatever Mcp-Session-Id says
    return;
  }
  const auto session_id = header(request, kSessionHeader.data());
  if (!session_id) {
    send_rpc_error(request, response, 400, id_of(body), bad_request("Mcp-Session-Id header is required"));
    return;
  }
  auto lease = m_runtime.sessions.acquire(*session_id, SessionTransport::streamable_http, caller.id);
  if (!lease) {
    send_rpc_error(request, response, 404, id_of(body),
                   mcp::RpcError{mcp::error_code::invalid_request, "Session not found: initialize a new one", nullptr});
    return;
  }
  mcp::Session& session = lease->session();
  if (!single) {
    // Notifications, client responses, batches and invalid messages: no stream needed.
    const auto reply = mcp::handle_session_body(m_runtime.dispatcher, session, body, {}, mcp::CancelledReplies::send);
    if (!reply) {
      send_accepted(response);
    } else {
      // A lone error object means the whole body was refused (an invalid message, a batch this revision lacks).
      const bool refused = reply->is_object() && mcp::is_error_response(*reply);
      send_json(response, refused ? 400 : 200, *reply);
    }
    return;
  }
  if (accept.sse && (!accept.json || wants_stream(*single, session.log_level().has_value()))) {
    auto shared_lease = std::make_shared<SessionStore::Lease>(std::move(*lease));
    stream_messages(
        m_runtime, request, response,
        [&dispatcher = m_runtime.dispatcher, call = *single, shared_lease](const mcp::Outbound& notify,
                                                                           std::stop_token /*session owns it*/) {
          const auto reply = mcp::answer_in_session(dispatcher, shared_lease->session(), call, notify);
          if (!reply.cancelled) notify(reply.message);
        },
        /*cancel_on_disconnect=*/false);
    return;
  }
  send_json(response, 200, mcp::answer_in_session(m_runtime.dispatcher, session, *single, {}).message);
}

void StreamableHttp::initialize(http::Request& request, http::Response& response, const Caller& caller,
                                const mcp::Request& message, const Acceptable& accept) {
  auto session =
      std::make_shared<mcp::Session>(core::random_hex(kSessionIdBytes), std::string(mcp::kDefaultHeaderVersion));
  session->set_caller(caller.id);
  const json reply = mcp::answer_in_session(m_runtime.dispatcher, *session, message, {}).message;
  if (mcp::is_error_response(reply)) {
    send_message(response, reply, accept);  // no session for a failed handshake
    return;
  }
  if (!m_runtime.sessions.add(session, SessionTransport::streamable_http, {}, caller.id)) {
    send_rpc_error(request, response, 503, message.id,
                   mcp::RpcError{mcp::error_code::internal_error, "Too many open sessions; try again later", nullptr});
    return;
  }
  response.set_header(kSessionHeader.data(), session->id());
  send_message(response, reply, accept);
}

void StreamableHttp::get(http::Request& request, http::Response& response, const Caller& caller) {
  const auto session_id = header(request, kSessionHeader.data());
  // Only resource notifications travel outside a request's own response, and only sessions have a
  // stream of their own (2026-07-28 uses subscriptions/listen): otherwise there is nothing to send,
  // and the spec allows 405.
  if (!session_id || m_runtime.dispatcher.resource_events() == nullptr) {
    if (session_id && !m_runtime.sessions.acquire(*session_id, SessionTransport::streamable_http, caller.id)) {
      send_rpc_error(request, response, 404, nullptr,
                     mcp::RpcError{mcp::error_code::invalid_request, "Session not found", nullptr});
      return;
    }
    response.status = 405;
    response.set_header("Allow", "POST, DELETE");
    return;
  }
  if (m_runtime.stopping) {
    send_rpc_error(request, response, 503, nullptr,
                   mcp::RpcError{mcp::error_code::internal_error, "The server is shutting down", nullptr});
    return;
  }
  if (!parse_accept(request.header("Accept")).sse) {
    send_rpc_error(request, response, 406, nullptr, bad_request("Accept must allow text/event-stream"));
    return;
  }
  const auto& owner = caller.id;
  auto lease = m_runtime.sessions.acquire(*session_id, SessionTransport::streamable_http, owner);
  if (!lease) {
    send_rpc_error(request, response, 404, nullptr,
                   mcp::RpcError{mcp::error_code::invalid_request, "Session not found", nullptr});
    return;
  }
  auto events = std::make_shared<SseQueue>();
  switch (m_runtime.sessions.attach_stream(*session_id, owner, events)) {
    case SessionStore::Attach::attached: break;
    case SessionStore::Attach::not_found:
      send_rpc_error(request, response, 404, nullptr,
                     mcp::RpcError{mcp::error_code::invalid_request, "Session not found", nullptr});
      return;
    case SessionStore::Attach::busy:
      send_rpc_error(request, response, 409, nullptr,
                     bad_request("this session already has an open GET stream; close it first"));
      return;
    case SessionStore::Attach::full:
      send_rpc_error(request, response, 503, nullptr,
                     mcp::RpcError{mcp::error_code::internal_error, "Too many open streams; try again later", nullptr});
      return;
  }
  // The stream holds its own lease: the session stays until DELETE, shutdown or the client leaving.
  auto held = std::make_shared<SessionStore::Lease>(std::move(*lease));
  auto forwarding = forward_resource_events(m_runtime, held->shared_session(), events);
  stream_queue(response, events, m_runtime.keepalive, [forwarding, held]() mutable {
    if (forwarding) forwarding->reset();
    held.reset();
  });
}

void StreamableHttp::remove(http::Request& request, http::Response& response, const Caller& caller) {
  const auto session_id = header(request, kSessionHeader.data());
  if (!session_id) {
    send_rpc_error(request, response, 400, nullptr, bad_request("Mcp-Session-Id header is required"));
    return;
  }
  if (!m_runtime.sessions.remove(*session_id, SessionTransport::streamable_http, &caller.id)) {
    send_rpc_error(request, response, 404, nullptr,
                   mcp::RpcError{mcp::error_code::invalid_request, "Session not found", nullptr});
    return;
  }
  response.status = 200;
}

}  // namespace transport
