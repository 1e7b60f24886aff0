#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "transport/sse_stream.hpp"
#include "mcp/session.hpp"

namespace transport {

/// The transport a session lives on; a session id only works on its own transport.
enum class SessionTransport {
  streamable_http,  ///< 2025 Streamable HTTP: POST/DELETE /mcp with Mcp-Session-Id, expires when idle
  legacy_sse,       ///< 2024-11-05 HTTP+SSE: lives as long as its GET /sse stream
};

/// The open sessions of both session-era transports, with an idle timeout and a cap. Thread-safe.
class SessionStore {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  /// A session found by acquire(): counts as busy (never expires) until destroyed.
  class Lease {
   public:
    Lease(SessionStore& store, std::string id, std::shared_ptr<mcp::Session> session, std::shared_ptr<SseQueue> events);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;

    /// The session's protocol state.
    [[nodiscard]] mcp::Session& session() const { return *m_session; }
    /// The same, shared (for what must notice when the session is gone).
    [[nodiscard]] const std::shared_ptr<mcp::Session>& shared_session() const { return m_session; }
    /// The event stream of a legacy_sse session; null for streamable_http ones.
    [[nodiscard]] const std::shared_ptr<SseQueue>& events() const { return m_events; }

   private:
    SessionStore* m_store;
    std::string m_id;
    std::shared_ptr<mcp::Session> m_session;
    std::shared_ptr<SseQueue> m_events;
  };

  /// At most `max_sessions` sessions, of which at most `max_streams` legacy_sse ones (each holds an
  /// HTTP worker thread for its whole life); streamable_http ones idle for `idle_timeout` are dropped.
  SessionStore(
      std::size_t max_sessions, std::size_t max_streams, std::chrono::seconds idle_timeout,
      Clock clock = [] { return std::chrono::steady_clock::now(); });

  /// Adds a session of `owner` (a token's id; after dropping expired ones); false when a cap is
  /// reached or after close_all(). One owner may hold at most three quarters of each cap, so a
  /// single token cannot take every session or stream from the others.
  bool add(std::shared_ptr<mcp::Session> session, SessionTransport transport, std::shared_ptr<SseQueue> events = {},
           std::string owner = {});

  /// The live session `id` on `transport` of `owner`, leased; nullopt when unknown, expired, on the
  /// other transport, or another owner's (a session id is no use with another token).
  [[nodiscard]] std::optional<Lease> acquire(const std::string& id, SessionTransport transport,
                                             const std::string& owner = {});

  /// What attach_stream() did.
  enum class Attach { attached, not_found, busy, full };
  /// Gives the streamable_http session `id` of `owner` its standalone stream (GET /mcp), where
  /// notifications outside any request go. One open stream per session (`busy` otherwise); open
  /// streams of both transports share the `max_streams` cap (`full`). The session does not expire while
  /// its stream is open, and ending the session closes the stream.
  Attach attach_stream(const std::string& id, const std::string& owner, std::shared_ptr<SseQueue> events);

  /// Ends session `id` (when `owner` is given, only if it is theirs): cancels its running requests
  /// and closes its stream; false when unknown.
  bool remove(const std::string& id, SessionTransport transport, const std::string* owner = nullptr);

  /// Ends every session and refuses new ones (shutdown).
  void close_all();

  /// How many sessions are open (expired ones are dropped first).
  [[nodiscard]] std::size_t size();

 private:
  struct Entry {
    std::shared_ptr<mcp::Session> session;
    SessionTransport transport = SessionTransport::streamable_http;
    std::shared_ptr<SseQueue> events;
    std::chrono::steady_clock::time_point last_used;
    int leases = 0;
    std::string owner;
  };

  void release(const std::string& id);
  /// Whether the entry holds an open stream (legacy sessions always until they end; streamable ones while GET is open).
  static bool streaming(const Entry& entry);
  /// Removes the expired sessions from the map; the caller ends them once the lock is released.
  std::vector<Entry> take_expired_locked();
  static void end(Entry& entry);

  const std::size_t m_max_sessions;
  const std::size_t m_max_streams;
  const std::chrono::seconds m_idle_timeout;
  const Clock m_clock;
  std::mutex m_mutex;
  std::map<std::string, Entry> m_entries;
  bool m_closed = false;
};

}  // namespace transport
