#include "mcp/dispatcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <utility>

#include "core/encoding.hpp"
#include "mcp/resource_methods.hpp"
#include "mcp/tool_methods.hpp"

namespace mcp {

namespace {

tl::unexpected<RpcError> fail(int code, std::string message) {
  return tl::unexpected(RpcError{code, std::move(message), nullptr});
}

// "ok", "tool_error" or "error -32602": what the log line and metrics care about.
std::string status_of(const json& response) {
  if (const auto error = response.find("error"); error != response.end()) {
    return "error " + std::to_string(error->value("code", 0));
  }
  const auto& result = response["result"];
  return result.is_object() && result.value("isError", false) ? "tool_error" : "ok";
}

// logging/setLevel: the session's minimum level for notifications/message from now on.
tl::expected<json, RpcError> set_level(const Request& request, const RequestContext& context) {
  const json level_name = request.params.is_object() ? request.params.value("level", json()) : json();
  const auto level = level_name.is_string() ? parse_log_level(level_name.get<std::string>()) : std::nullopt;
  if (!level) {
    return fail(error_code::invalid_params, "Invalid params: \"level\" must be a log level such as \"info\"");
  }
  context.session->set_log_level(*level);
  return json::object();
}

}  // namespace

Dispatcher::Dispatcher(const ToolRegistry& tools, ServerInfo info, ResourceSupport resources)
    : m_tools(tools), m_info(std::move(info)), m_resources(resources) {}

json Dispatcher::answer(const Request& request, const RequestContext& context) const {
  const auto started = std::chrono::steady_clock::now();
  auto outcome = run(request, context);
  json response;
  if (outcome) {
    if (context.revision->result_type) {
      // 2026-07-28: every result says what kind it is and who answered.
      (*outcome)["resultType"] = "complete";
      (*outcome)["_meta"][meta_key::server_info] = implementation();
    }
    response = result_response(request.id, std::move(*outcome));
  } else {
    response = error_response(request.id, outcome.error());
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  const bool is_call = request.method == "tools/call" && request.params.is_object() &&
                       request.params.contains("name") && request.params["name"].is_string();
  const std::string session = context.session != nullptr ? context.session->id().substr(0, 8) : "-";
  // After initialize the session's version is the negotiated one, which is what the line should show.
  const std::string version =
      context.session != nullptr ? context.session->protocol_version() : std::string(context.revision->version);
  // The method and the tool name are the caller's words: escaped, so no request can forge a log line.
  spdlog::info("mcp {} tool={} session={} version={} status={} ms={}", core::printable(request.method),
               is_call ? core::printable(request.params["name"].get<std::string>()) : "-", session, version,
               status_of(response), ms);
  return response;
}

tl::expected<json, RpcError> Dispatcher::run(const Request& request, const RequestContext& context) const {
  using Handler = tl::expected<json, RpcError> (*)(const Dispatcher&, const Request&, const RequestContext&);
  // Whether a method exists for a request of this revision, with or without a session, on this server.
  using Offered = bool (*)(const Dispatcher&, const Revision&, bool in_session);
  struct Method {
    std::string_view name;
    Offered offered;
    Handler handle;
  };
  // Every method this server answers, once: where it exists and what answers it. initialize,
  // logging/setLevel and resources/(un)subscribe change session state, so they only exist where
  // there is a session; resources/* only with a resource provider.
  static constexpr std::array<Method, 12> kMethods{{
      {"initialize", [](const Dispatcher&, const Revision& r, bool in_session) { return !r.stateless && in_session; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) { return d.initialize(q.params, c.session); }},
      {"ping", [](const Dispatcher&, const Revision& r, bool) { return r.ping; },
       [](const Dispatcher&, const Request&, const RequestContext&) -> tl::expected<json, RpcError> {
         return json::object();
       }},
      {"tools/list", [](const Dispatcher&, const Revision&, bool) { return true; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) { return d.list(q, c); }},
      {"tools/call", [](const Dispatcher&, const Revision&, bool) { return true; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) { return d.call(q, c); }},
      {"resources/list", [](const Dispatcher& d, const Revision&, bool) { return d.m_resources.provider != nullptr; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) {
         return list_resources(*d.m_resources.provider, q.params, resource_scope(c));
       }},
      {"resources/read", [](const Dispatcher& d, const Revision&, bool) { return d.m_resources.provider != nullptr; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) {
         return read_resource(*d.m_resources.provider, q.params, resource_scope(c));
       }},
      {"resources/templates/list",
       [](const Dispatcher& d, const Revision&, bool) { return d.m_resources.provider != nullptr; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) {
         return list_resource_templates(*d.m_resources.provider, q.params, resource_scope(c));
       }},
      // 2026-07-28 replaced these with subscriptions/listen's resourceSubscriptions.
      {"resources/subscribe",
       [](const Dispatcher& d, const Revision& r, bool in_session) {
         return !r.stateless && in_session && d.resource_events() != nullptr;
       },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) {
         return subscribe_resource(*d.m_resources.provider, q.params, *c.session);
       }},
      {"resources/unsubscribe",
       [](const Dispatcher& d, const Revision& r, bool in_session) {
         return !r.stateless && in_session && d.resource_events() != nullptr;
       },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) {
         return unsubscribe_resource(*d.m_resources.provider, q.params, *c.session);
       }},
      {"logging/setLevel",
       [](const Dispatcher&, const Revision& r, bool in_session) { return r.set_level && in_session; },
       [](const Dispatcher&, const Request& q, const RequestContext& c) { return set_level(q, c); }},
      {"server/discover", [](const Dispatcher&, const Revision& r, bool) { return r.stateless; },
       [](const Dispatcher& d, const Request&, const RequestContext&) { return d.discover(); }},
      {"subscriptions/listen", [](const Dispatcher&, const Revision& r, bool) { return r.stateless; },
       [](const Dispatcher& d, const Request& q, const RequestContext& c) { return d.listen(q, c); }},
  }};
  const auto method = std::find_if(kMethods.begin(), kMethods.end(), [&](const Method& m) {
    return m.name == request.method && m.offered(*this, *context.revision, context.session != nullptr);
  });
  if (method == kMethods.end()) {
    return fail(error_code::method_not_found, "Method not found: " + request.method);
  }
  // MCP only uses named parameters.
  if (!request.params.is_null() && !request.params.is_object()) {
    return fail(error_code::invalid_params, "Invalid params: params must be an object");
  }
  return method->handle(*this, request, context);
}

tl::expected<json, RpcError> Dispatcher::list(const Request& request, const RequestContext& context) const {
  if (request.params.is_object() && request.params.contains("cursor") && !request.params["cursor"].is_null()) {
    return fail(error_code::invalid_params, "Invalid params: unknown cursor (the tool list has a single page)");
  }
  return list_tools(m_tools, *context.revision);
}

tl::expected<json, RpcError> Dispatcher::initialize(const json& params, Session* session) const {
  if (!params.is_object() || !params.contains("protocolVersion") || !params["protocolVersion"].is_string()) {
    return fail(error_code::invalid_params, "Invalid params: initialize needs a string \"protocolVersion\"");
  }
  const std::string negotiated = negotiate_session_version(params["protocolVersion"].get<std::string>());
  std::string client_name;
  if (const auto info = params.find("clientInfo"); info != params.end() && info->is_object()) {
    client_name = info->value("name", "");
  }
  session->set_negotiated(negotiated, std::move(client_name));
  json result{{"protocolVersion", negotiated}, {"capabilities", capabilities()}, {"serverInfo", implementation()}};
  if (!m_info.instructions.empty()) result["instructions"] = m_info.instructions;
  return result;
}

tl::expected<json, RpcError> Dispatcher::discover() const {
  json result{{"supportedVersions", stateless_versions()},
              {"capabilities", capabilities()},
              // Also in the body: early 2.x SDK probes looked for it there rather than in _meta.
              {"serverInfo", implementation()},
              {"ttlMs", 5 * 60 * 1000},
              {"cacheScope", "public"}};
  if (!m_info.instructions.empty()) result["instructions"] = m_info.instructions;
  return result;
}

tl::expected<json, RpcError> Dispatcher::call(const Request& request, const RequestContext& context) const {
  ToolCallScope scope;
  scope.revision = context.revision;
  scope.session_id = context.session != nullptr ? context.session->id() : "";
  scope.caller = !context.caller.empty() || context.session == nullptr ? context.caller : context.session->caller();
  scope.stop = context.stop;
  scope.progress_token = progress_token(request.params);
  scope.notify = context.notify;
  if (context.session != nullptr) {
    // Read at each message, so a logging/setLevel during the call applies at once.
    scope.log_level = [session = context.session] { return session->log_level(); };
  } else if (context.log_level) {
    scope.log_level = [level = context.log_level] { return level; };
  }
  return call_tool(m_tools, request.params, scope);
}

void Dispatcher::apply(const Notification& notification, Session* session) const {
  if (session == nullptr) return;  // stateless: nothing to apply (cancellation is closing the stream)
  if (notification.method == "notifications/initialized") {
    return;  // initialize already negotiated everything this server keeps
  }
  if (notification.method == "notifications/cancelled") {
    const json id = notification.params.is_object() ? notification.params.value("requestId", json()) : json();
    const bool stopped = is_request_id(id) && session->cancel_request(id);
    spdlog::debug("mcp cancel session={} request={} running={}", session->id().substr(0, 8),
                  core::printable(id.dump()), stopped);
    return;
  }
  spdlog::debug("mcp ignored notification {} session={}", core::printable(notification.method),
                session->id().substr(0, 8));
}

ResourceScope Dispatcher::resource_scope(const RequestContext& context) {
  ResourceScope scope;
  scope.revision = context.revision;
  scope.caller = caller_of(context);
  scope.session_id = context.session != nullptr ? context.session->id() : "";
  return scope;
}

// A subscriptions/listen stream: acknowledges what of the client's filter this server honours (resource
// list changes and resource subscriptions; its tool list never changes), forwards those changes until the
// client leaves or the server stops, then says the subscription ended gracefully.
tl::expected<json, RpcError> Dispatcher::listen(const Request& request, const RequestContext& context) const {
  if (!request.params.is_object() || !request.params.contains("notifications") ||
      !request.params["notifications"].is_object()) {
    return fail(error_code::invalid_params, "Invalid params: subscriptions/listen needs a \"notifications\" object");
  }
  const std::string caller = caller_of(context);
  auto filter = listen_filter(request.params["notifications"], resource_events() != nullptr, m_resources.provider,
                              caller);
  if (!filter) return tl::unexpected(filter.error());
  // Every notification on the stream names the listen request it belongs to.
  const auto stamped = [id = request.id](json notification) {
    notification["params"]["_meta"][meta_key::subscription_id] = id;
    return notification;
  };
  // Listening before the acknowledgement: a client that saw it misses no change made after it.
  ResourceEvents::Subscription subscription;
  if (filter->any && context.notify) {
    subscription = resource_events()->subscribe(
        [notify = context.notify, resources = filter->resources, stamped](const ResourceChange& change) {
          for (auto& notification : resource_notifications(change, resources)) notify(stamped(std::move(notification)));
        });
  }
  if (context.notify) {
    context.notify(stamped(make_notification("notifications/subscriptions/acknowledged",
                                             json{{"notifications", filter->acknowledged}})));
  }
  std::mutex mutex;
  std::condition_variable_any woken;
  std::unique_lock lock(mutex);
  woken.wait(lock, context.stop, [] { return false; });
  subscription.reset();  // before `notify` may go away
  return json{{"_meta", json{{meta_key::subscription_id, request.id}}}};
}

std::string Dispatcher::caller_of(const RequestContext& context) {
  return !context.caller.empty() || context.session == nullptr ? context.caller : context.session->caller();
}

RequestContext Dispatcher::stateless_context(const RequestEnvelope& envelope, std::stop_token stop, Outbound notify) {
  RequestContext context;
  context.revision = &revision(envelope.protocol_version);
  context.log_level = envelope.log_level;
  context.stop = std::move(stop);
  context.notify = std::move(notify);
  return context;
}

json Dispatcher::capabilities() const {
  json capabilities{{"tools", json{{"listChanged", false}}}, {"logging", json::object()}};
  if (m_resources.provider != nullptr) {
    const bool events = resource_events() != nullptr;
    capabilities["resources"] = json{{"subscribe", events}, {"listChanged", events}};
  }
  return capabilities;
}

json Dispatcher::implementation() const { return json{{"name", m_info.name}, {"version", m_info.version}}; }

}  // namespace mcp
