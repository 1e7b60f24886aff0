#include "mcp/tool_methods.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <exception>
#include <utility>

#include "core/encoding.hpp"

namespace mcp {

namespace {

// The tool list only changes with a restart and is the same for every caller, so shared caches may
// keep it for a while; five minutes bounds how long a client sees a list from before a redeploy.
constexpr int kListTtlMs = 5 * 60 * 1000;

json describe(const ToolDefinition& tool, const Revision& revision) {
  json entry{{"name", tool.name}};
  if (revision.structured_output && !tool.title.empty()) entry["title"] = tool.title;
  if (!tool.description.empty()) entry["description"] = tool.description;
  // Every revision requires an object schema, even for a tool without arguments.
  entry["inputSchema"] = tool.input_schema.is_object() ? tool.input_schema : json{{"type", "object"}};
  if (revision.structured_output && tool.output_schema.is_object()) entry["outputSchema"] = tool.output_schema;
  if (revision.tool_annotations && tool.annotations.is_object()) entry["annotations"] = tool.annotations;
  return entry;
}

tl::unexpected<RpcError> invalid_params(std::string message) {
  return tl::unexpected(RpcError{error_code::invalid_params, std::move(message), nullptr});
}

tl::unexpected<RpcError> internal() {
  // The details went to the log; a client only learns that the server failed.
  return tl::unexpected(RpcError{error_code::internal_error, "Internal error", nullptr});
}

ToolContext make_context(const ToolCallScope& scope, const std::string& tool_name) {
  ToolContext context;
  context.session_id = scope.session_id;
  context.caller = scope.caller;
  context.protocol_version = std::string(scope.revision->version);
  context.cancelled = scope.stop;
  if (!scope.progress_token.is_null() && scope.notify) {
    context.progress = [token = scope.progress_token, notify = scope.notify,
                        with_message = scope.revision->progress_message](double progress, std::optional<double> total,
                                                                         const std::string& message) {
      if (!std::isfinite(progress)) return;
      json params{{"progressToken", token}, {"progress", progress}};
      if (total && std::isfinite(*total)) params["total"] = *total;
      if (with_message && !message.empty()) params["message"] = message;
      notify(make_notification("notifications/progress", std::move(params)));
    };
  }
  if (scope.log_level && scope.notify) {
    context.log = [minimum = scope.log_level, notify = scope.notify, tool_name](const std::string& level_name,
                                                                                const json& data) {
      const auto level = parse_log_level(level_name);
      const auto threshold = minimum();
      if (!level || !threshold || !passes(*level, *threshold)) return;
      notify(make_notification("notifications/message",
                               json{{"level", to_string(*level)}, {"logger", tool_name}, {"data", data}}));
    };
  }
  return context;
}

// Fits a handler's CallToolResult to the revision in use.
tl::expected<json, RpcError> shape_result(json result, const Revision& revision, const std::string& tool_name) {
  if (!result.is_object()) {
    spdlog::error("tool {} returned a {} instead of a CallToolResult object", tool_name, result.type_name());
    return internal();
  }
  if (!result.contains("content") || !result["content"].is_array()) {
    result["content"] = json::array();
  }
  if (!revision.structured_output) {
    result.erase("structuredContent");  // unknown before 2025-06-18; the text content carries the same data
  }
  if (!revision.resource_links) {
    // Unknown before 2025-06-18 (a client would fail to parse the result); the text names the same files.
    json kept = json::array();
    for (auto& block : result["content"]) {
      if (!block.is_object() || block.value("type", "") != "resource_link") kept.push_back(std::move(block));
    }
    result["content"] = std::move(kept);
  }
  return result;
}

}  // namespace

json list_tools(const ToolRegistry& tools, const Revision& revision) {
  json list = json::array();
  for (const auto& tool : tools.definitions()) {
    list.push_back(describe(tool, revision));
  }
  json result{{"tools", std::move(list)}};
  if (revision.result_type) {
    result["ttlMs"] = kListTtlMs;
    result["cacheScope"] = "public";
  }
  return result;
}

tl::expected<json, RpcError> call_tool(const ToolRegistry& tools, const json& params, const ToolCallScope& scope) {
  if (!params.is_object() || !params.contains("name") || !params["name"].is_string()) {
    return invalid_params("Invalid params: tools/call needs a string \"name\"");
  }
  const auto name = params["name"].get<std::string>();
  json arguments = json::object();
  if (const auto it = params.find("arguments"); it != params.end() && !it->is_null()) {
    if (!it->is_object()) {
      return invalid_params("Invalid params: \"arguments\" must be an object");
    }
    arguments = *it;
  }
  const ToolHandler* handler = tools.find(name);
  if (handler == nullptr) {
    return invalid_params("Unknown tool: " + name);
  }
  ToolContext context = make_context(scope, name);
  core::Result<json> outcome;
  try {
    outcome = (*handler)(arguments, context);
  } catch (const std::exception& error) {
    spdlog::error("tool {} threw: {}", name, core::printable(error.what()));
    return internal();
  } catch (...) {
    spdlog::error("tool {} threw a non-exception", name);
    return internal();
  }
  if (!outcome) {
    // The one place of the rule (MCP 2025-11-25, for every revision): whatever a tool refuses or
    // fails at, invalid arguments included, is a result the model reads and acts on. Only what is
    // wrong with the call itself (no name, arguments not an object, an unknown tool) is -32602.
    return tool_error(outcome.error().message);
  }
  return shape_result(std::move(*outcome), *scope.revision, name);
}

}  // namespace mcp
