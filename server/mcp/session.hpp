#pragma once

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stop_token>
#include <string>

#include "mcp/logging_level.hpp"
#include "mcp/resources.hpp"

namespace mcp {

/// Protocol state of one session of the session era (2024-11-05 .. 2025-11-25): the negotiated
/// revision, the client's logging level and the requests in flight (so notifications/cancelled
/// and the end of the session can stop them). Knows nothing of the transport; thread-safe.
class Session {
 public:
  /// A session with id `id` (empty for none); until `initialize` it speaks `protocol_version`.
  explicit Session(std::string id, std::string protocol_version = "2024-11-05");

  /// The id the transport uses for this session.
  [[nodiscard]] const std::string& id() const { return m_id; }

  /// The revision in use (negotiated by initialize).
  [[nodiscard]] std::string protocol_version() const;
  /// Records the revision initialize negotiated, and the client's self-reported name for logs.
  void set_negotiated(std::string protocol_version, std::string client_name);
  /// Whether initialize has been answered on this session.
  [[nodiscard]] bool negotiated() const;
  /// The client's self-reported name ("" before initialize).
  [[nodiscard]] std::string client_name() const;
  /// Who opened the session (ToolContext::caller); its tool calls are theirs. Set by the transport.
  void set_caller(std::string caller);
  [[nodiscard]] std::string caller() const;

  /// The minimum level of notifications/message the client wants; nullopt until logging/setLevel.
  [[nodiscard]] std::optional<LogLevel> log_level() const;
  /// Sets the minimum level (logging/setLevel).
  void set_log_level(LogLevel level);

  /// Registers request `id` as running; its token stops on cancellation or close(). nullopt when a
  /// request with that id is already running or the session is closed.
  [[nodiscard]] std::optional<std::stop_token> begin_request(const nlohmann::json& id);
  /// Unregisters request `id`; true when it had been cancelled (its answer should not be sent).
  bool end_request(const nlohmann::json& id);
  /// Stops request `id` (notifications/cancelled); false when no such request is running.
  bool cancel_request(const nlohmann::json& id);

  /// The most resources one session may subscribe to at once.
  static constexpr std::size_t kMaxResourceSubscriptions = 256;
  /// resources/subscribe: false when the session already has kMaxResourceSubscriptions others.
  bool subscribe_resource(const std::string& uri);
  /// resources/unsubscribe (unknown URIs are ignored).
  void unsubscribe_resource(const std::string& uri);
  /// What notifications this session's stream should carry: its subscribed URIs and its caller's list.
  [[nodiscard]] ResourceFilter resource_filter() const;

  /// Ends the session: stops every running request and refuses new ones.
  void close();
  /// Whether close() was called.
  [[nodiscard]] bool closed() const;

 private:
  const std::string m_id;
  mutable std::mutex m_mutex;
  std::string m_protocol_version;
  std::string m_client_name;
  std::string m_caller;
  bool m_negotiated = false;
  std::optional<LogLevel> m_log_level;
  bool m_closed = false;
  std::map<std::string, std::stop_source> m_running;  ///< keyed by the id's JSON text, so 1 and "1" differ
  std::set<std::string> m_cancelled;
  std::set<std::string> m_resource_subscriptions;
};

}  // namespace mcp
