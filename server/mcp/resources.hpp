#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <tl/expected.hpp>
#include <vector>

#include "mcp/json_rpc.hpp"
#include "mcp/protocol_version.hpp"

namespace mcp {

/// MCP's error code for a resources/read of a URI that names nothing.
inline constexpr int kResourceNotFound = -32002;

/// Who asks for resources, and in which revision.
struct ResourceScope {
  const Revision* revision = nullptr;  ///< never null
  std::string caller;                  ///< the caller's identity ("token:<id>", "oauth:<grant>"); empty: unknown
  std::string session_id;              ///< the 2025 session; empty for stateless requests
};

/// The resources a server offers. The dispatcher answers resources/* with it; implementations are
/// thread-safe and shape their answers for `scope.revision`.
class ResourceProvider {
 public:
  virtual ~ResourceProvider() = default;
  /// One page of resources/list ({resources, nextCursor?}); `cursor` is empty for the first page.
  [[nodiscard]] virtual tl::expected<json, RpcError> list(const ResourceScope& scope,
                                                          const std::string& cursor) const = 0;
  /// resources/read ({contents: [...]}); -32002 when `uri` names nothing.
  [[nodiscard]] virtual tl::expected<json, RpcError> read(const ResourceScope& scope, const std::string& uri) const = 0;
  /// The ResourceTemplate objects of resources/templates/list.
  [[nodiscard]] virtual json templates(const Revision& revision) const = 0;
  /// Why `uri` can never name one of this server's resources (resources/subscribe refuses it), or "".
  [[nodiscard]] virtual std::string check_uri(const std::string& uri) const = 0;
};

/// Resources that changed: their content (created, written or deleted) and, for `caller`, the list.
struct ResourceChange {
  std::string caller;                ///< whose call changed them: their resources/list changed
  std::vector<std::string> updated;  ///< URIs whose content changed
  bool list_changed = false;         ///< resources appeared or went away
};

/// What one listener (a session's stream, a subscriptions/listen stream) wants to hear of.
struct ResourceFilter {
  std::string caller;          ///< list changes of this caller only; empty: none
  bool list_changed = false;   ///< notifications/resources/list_changed
  std::set<std::string> uris;  ///< notifications/resources/updated for these URIs
};

/// The notifications a listener with `filter` gets for `change`: resources/updated for each of its
/// URIs that changed, then resources/list_changed when its caller's list changed.
[[nodiscard]] std::vector<json> resource_notifications(const ResourceChange& change, const ResourceFilter& filter);

/// Fans resource changes out to whoever listens, on the publisher's thread. Listeners must be quick
/// and must not publish or subscribe (they queue frames for a stream). Thread-safe.
class ResourceEvents {
 public:
  using Listener = std::function<void(const ResourceChange&)>;

  /// Keeps a listener registered while it lives; once destroyed the listener is never called again
  /// (the destructor waits for a call in progress).
  class Subscription {
   public:
    Subscription() = default;
    ~Subscription();
    Subscription(Subscription&& other) noexcept;
    Subscription& operator=(Subscription&& other) noexcept;
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    /// Unregisters now (idempotent).
    void reset();

   private:
    friend class ResourceEvents;
    struct State;
    Subscription(std::shared_ptr<State> state, std::uint64_t id) : m_state(std::move(state)), m_id(id) {}
    std::shared_ptr<State> m_state;
    std::uint64_t m_id = 0;
  };

  ResourceEvents();

  /// Registers `listener` until the returned subscription is destroyed.
  [[nodiscard]] Subscription subscribe(Listener listener);
  /// Tells every listener about `change`.
  void publish(const ResourceChange& change);
  /// Listeners registered now.
  [[nodiscard]] std::size_t size() const;

 private:
  std::shared_ptr<Subscription::State> m_state;
};

/// The resources of a dispatcher: what answers resources/* and where their changes are announced.
/// Either may be null (no resources capability without a provider; no notifications without events).
struct ResourceSupport {
  const ResourceProvider* provider = nullptr;
  ResourceEvents* events = nullptr;
};

}  // namespace mcp
