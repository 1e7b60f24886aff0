#include "mcp/session_messages.hpp"

#include <type_traits>
#include <utility>
#include <variant>

#include "mcp/protocol_version.hpp"

namespace mcp {

namespace {

json invalid_request(const json& id, std::string message) {
  return error_response(id, RpcError{error_code::invalid_request, std::move(message), nullptr});
}

// One element of a body; `in_batch` because initialize may not be batched (2025-03-26).
std::optional<json> handle_one(const Dispatcher& dispatcher, Session& session, const json& value,
                               const Outbound& notify, CancelledReplies cancelled, bool in_batch) {
  return std::visit(
      [&](auto&& message) -> std::optional<json> {
        using T = std::decay_t<decltype(message)>;
        if constexpr (std::is_same_v<T, Request>) {
          if (in_batch && message.method == "initialize") {
            return invalid_request(message.id, "Invalid Request: initialize must not be part of a JSON-RPC batch");
          }
          SessionReply reply = answer_in_session(dispatcher, session, message, notify);
          if (reply.cancelled && cancelled == CancelledReplies::drop) return std::nullopt;
          return std::move(reply.message);
        } else if constexpr (std::is_same_v<T, Notification>) {
          dispatcher.apply(message, &session);
          return std::nullopt;
        } else if constexpr (std::is_same_v<T, ClientResponse>) {
          return std::nullopt;  // this server sends no requests, so there is nothing waiting for it
        } else {
          return error_response(message.id, message.error);
        }
      },
      parse_message(value));
}

}  // namespace

SessionReply answer_in_session(const Dispatcher& dispatcher, Session& session, const Request& request,
                               const Outbound& notify) {
  const auto stop = session.begin_request(request.id);
  if (!stop) {
    if (session.closed()) {
      return SessionReply{
          error_response(request.id, RpcError{error_code::internal_error, "The session has ended", nullptr}), true};
    }
    return SessionReply{
        invalid_request(request.id, "Invalid Request: a request with id " + request.id.dump() + " is still running"),
        false};
  }
  RequestContext context;
  const std::string version = session.protocol_version();
  context.revision = &revision(version);
  context.session = &session;
  context.stop = *stop;
  context.notify = notify;
  json response = dispatcher.answer(request, context);
  const bool cancelled = session.end_request(request.id);
  return SessionReply{std::move(response), cancelled};
}

std::optional<json> handle_session_body(const Dispatcher& dispatcher, Session& session, const json& body,
                                        const Outbound& notify, CancelledReplies cancelled) {
  if (!body.is_array()) {
    return handle_one(dispatcher, session, body, notify, cancelled, false);
  }
  const std::string version = session.protocol_version();
  if (!revision(version).batches) {
    return invalid_request(nullptr, "Invalid Request: protocol revision " + version + " has no JSON-RPC batches");
  }
  if (body.empty()) {
    return invalid_request(nullptr, "Invalid Request: empty JSON-RPC batch");
  }
  json replies = json::array();
  for (const auto& element : body) {
    if (auto reply = handle_one(dispatcher, session, element, notify, cancelled, true)) {
      replies.push_back(std::move(*reply));
    }
  }
  if (replies.empty()) return std::nullopt;
  return replies;
}

}  // namespace mcp
