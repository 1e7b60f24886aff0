#include "mcp/resource_methods.hpp"

#include <string>
#include <utility>

namespace mcp {

namespace {

tl::unexpected<RpcError> invalid_params(std::string message) {
  return tl::unexpected(RpcError{error_code::invalid_params, "Invalid params: " + std::move(message), nullptr});
}

// The `uri` every resources/read, subscribe and unsubscribe names.
tl::expected<std::string, RpcError> uri_of(const json& params) {
  if (!params.is_object() || !params.contains("uri") || !params["uri"].is_string()) {
    return invalid_params("a string \"uri\" is required");
  }
  return params["uri"].get<std::string>();
}

// 2026-07-28 makes every list and read result say how long it may be cached and by whom. A caller's
// files change with every run and belong to that caller: not cached, and never in a shared cache.
void cache_hints(json& result, const Revision& revision, int ttl_ms, const char* scope) {
  if (!revision.result_type) return;
  result["ttlMs"] = ttl_ms;
  result["cacheScope"] = scope;
}

}  // namespace

tl::expected<json, RpcError> list_resources(const ResourceProvider& provider, const json& params,
                                            const ResourceScope& scope) {
  std::string cursor;
  if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
    if (!params["cursor"].is_string()) return invalid_params("\"cursor\" must be a string");
    cursor = params["cursor"].get<std::string>();
  }
  auto page = provider.list(scope, cursor);
  if (page) cache_hints(*page, *scope.revision, 0, "private");
  return page;
}

tl::expected<json, RpcError> read_resource(const ResourceProvider& provider, const json& params,
                                           const ResourceScope& scope) {
  const auto uri = uri_of(params);
  if (!uri) return tl::unexpected(uri.error());
  auto contents = provider.read(scope, *uri);
  if (contents) cache_hints(*contents, *scope.revision, 0, "private");
  return contents;
}

tl::expected<json, RpcError> list_resource_templates(const ResourceProvider& provider, const json& params,
                                                     const ResourceScope& scope) {
  if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
    return invalid_params("unknown cursor (the template list has a single page)");
  }
  json result{{"resourceTemplates", provider.templates(*scope.revision)}};
  // The templates only change with a restart and are the same for everyone, like the tool list.
  cache_hints(result, *scope.revision, 5 * 60 * 1000, "public");
  return result;
}

tl::expected<json, RpcError> subscribe_resource(const ResourceProvider& provider, const json& params,
                                                Session& session) {
  const auto uri = uri_of(params);
  if (!uri) return tl::unexpected(uri.error());
  if (auto problem = provider.check_uri(*uri); !problem.empty()) return invalid_params(problem);
  if (!session.subscribe_resource(*uri)) {
    return invalid_params("a session may subscribe to at most " +
                          std::to_string(Session::kMaxResourceSubscriptions) + " resources; unsubscribe from some first");
  }
  return json::object();
}

tl::expected<json, RpcError> unsubscribe_resource(const ResourceProvider& provider, const json& params,
                                                  Session& session) {
  const auto uri = uri_of(params);
  if (!uri) return tl::unexpected(uri.error());
  (void)provider;  // any URI may be unsubscribed, even one that could never have been subscribed
  session.unsubscribe_resource(*uri);
  return json::object();
}

tl::expected<ListenFilter, RpcError> listen_filter(const json& notifications, bool resource_events,
                                                   const ResourceProvider* provider, const std::string& caller) {
  ListenFilter filter;
  filter.resources.caller = caller;
  const bool resources = resource_events && provider != nullptr;
  if (const auto it = notifications.find("resourcesListChanged"); it != notifications.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid_params("\"resourcesListChanged\" must be a boolean");
    if (it->get<bool>() && resources) {
      filter.resources.list_changed = true;
      filter.acknowledged["resourcesListChanged"] = true;
    }
  }
  if (const auto it = notifications.find("resourceSubscriptions"); it != notifications.end() && !it->is_null()) {
    if (!it->is_array()) return invalid_params("\"resourceSubscriptions\" must be an array of URIs");
    if (it->size() > kMaxListenedResources) {
      return invalid_params("at most " + std::to_string(kMaxListenedResources) + " resourceSubscriptions per stream");
    }
    for (const auto& uri : *it) {
      if (!uri.is_string()) return invalid_params("\"resourceSubscriptions\" must be an array of URIs");
      if (!resources) continue;
      if (auto problem = provider->check_uri(uri.get<std::string>()); !problem.empty()) return invalid_params(problem);
      filter.resources.uris.insert(uri.get<std::string>());
    }
    if (resources) filter.acknowledged["resourceSubscriptions"] = filter.resources.uris;
  }
  filter.any = filter.resources.list_changed || !filter.resources.uris.empty();
  return filter;
}

}  // namespace mcp
