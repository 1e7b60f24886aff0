#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <string>
#include <tl/expected.hpp>

#include "mcp/json_rpc.hpp"
#include "mcp/logging_level.hpp"
#include "mcp/protocol_version.hpp"
#include "mcp/tool.hpp"

namespace mcp {

/// The tools/list result for `revision`: only the Tool fields that revision defines, plus the
/// cache hints (ttlMs, cacheScope) the 2026-07-28 revision requires on list results.
[[nodiscard]] json list_tools(const ToolRegistry& tools, const Revision& revision);

/// What a tools/call needs from the request it belongs to.
struct ToolCallScope {
  const Revision* revision = nullptr;  ///< never null
  std::string session_id;              ///< empty for stateless calls
  std::string caller;                  ///< ToolContext::caller
  std::stop_token stop;
  json progress_token;  ///< the request's _meta.progressToken; null: no progress notifications
  std::function<std::optional<LogLevel>()> log_level;  ///< the current minimum; nullopt: no notifications/message
  Outbound notify;
};

/// Runs tools/call. Bad params (no string name, arguments not an object) and an unknown tool are
/// -32602; any error of the tool, arguments it rejects included, is a result with isError: true
/// and the message as text (tool_error); a tool that throws or returns a non-object is -32603
/// (details only in the log).
[[nodiscard]] tl::expected<json, RpcError> call_tool(const ToolRegistry& tools, const json& params,
                                                     const ToolCallScope& scope);

}  // namespace mcp
