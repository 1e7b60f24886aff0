#pragma once

#include <nlohmann/json.hpp>
#include <optional>

#include "mcp/dispatcher.hpp"
#include "mcp/json_rpc.hpp"
#include "mcp/session.hpp"

namespace mcp {

/// Whether the answer to a request the client cancelled is sent: the spec says a receiver SHOULD NOT
/// answer it, but an HTTP response that must have a body needs one.
enum class CancelledReplies { send, drop };

/// The answer to one request made on a session.
struct SessionReply {
  json message;            ///< the response object
  bool cancelled = false;  ///< the client cancelled the request while it ran
};

/// Answers one request on `session`, registered as running so notifications/cancelled and the end of
/// the session stop it; a second request with an id still running is -32600.
[[nodiscard]] SessionReply answer_in_session(const Dispatcher& dispatcher, Session& session, const Request& request,
                                             const Outbound& notify);

/// Handles one received body on `session`: a single message or, where the session's revision allows
/// it, a batch. Requests are answered in order, notifications applied, client responses ignored and
/// invalid messages answered with errors. nullopt when there is nothing to send back.
[[nodiscard]] std::optional<json> handle_session_body(const Dispatcher& dispatcher, Session& session, const json& body,
                                                      const Outbound& notify, CancelledReplies cancelled);

}  // namespace mcp
