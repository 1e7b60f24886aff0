#pragma once

#include <nlohmann/json.hpp>
#include <tl/expected.hpp>

#include "mcp/json_rpc.hpp"
#include "mcp/resources.hpp"
#include "mcp/session.hpp"

namespace mcp {

/// The most URIs one subscriptions/listen stream may watch (like a session's subscriptions).
inline constexpr std::size_t kMaxListenedResources = Session::kMaxResourceSubscriptions;

/// resources/list: one page from the provider; a non-string cursor is -32602.
[[nodiscard]] tl::expected<json, RpcError> list_resources(const ResourceProvider& provider, const json& params,
                                                          const ResourceScope& scope);

/// resources/read: the provider's contents of `params.uri`.
[[nodiscard]] tl::expected<json, RpcError> read_resource(const ResourceProvider& provider, const json& params,
                                                         const ResourceScope& scope);

/// resources/templates/list: a single page.
[[nodiscard]] tl::expected<json, RpcError> list_resource_templates(const ResourceProvider& provider,
                                                                   const json& params, const ResourceScope& scope);

/// resources/subscribe (session revisions): `params.uri` joins the session's subscriptions.
[[nodiscard]] tl::expected<json, RpcError> subscribe_resource(const ResourceProvider& provider, const json& params,
                                                              Session& session);

/// resources/unsubscribe (session revisions).
[[nodiscard]] tl::expected<json, RpcError> unsubscribe_resource(const ResourceProvider& provider, const json& params,
                                                                Session& session);

/// What a subscriptions/listen stream honours of the client's `notifications` filter: resource list
/// changes and resource subscriptions when the server has resource events, nothing else (the tool
/// list never changes). The acknowledged filter, and the listener's filter for `caller`.
struct ListenFilter {
  json acknowledged = json::object();
  ResourceFilter resources;
  bool any = false;  ///< something to listen for at all
};
[[nodiscard]] tl::expected<ListenFilter, RpcError> listen_filter(const json& notifications, bool resource_events,
                                                                 const ResourceProvider* provider,
                                                                 const std::string& caller);

}  // namespace mcp
