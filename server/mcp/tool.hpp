#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace mcp {

using nlohmann::json;

/// What tools/list says about a tool.
struct ToolDefinition {
  std::string name;
  std::string title;
  std::string description;
  json input_schema;   ///< JSON Schema object
  json output_schema;  ///< JSON Schema object for structuredContent; null when the tool has none
  json annotations;    ///< readOnlyHint, destructiveHint, idempotentHint, openWorldHint; null for none
};

/// What a tool may use while it runs; filled in by the protocol layer per call.
struct ToolContext {
  /// The 2025-era session the call arrived on; empty for stateless (2026-07-28) calls.
  std::string session_id;
  /// The negotiated protocol revision, e.g. "2025-06-18" or "2026-07-28".
  std::string protocol_version;
  /// Who calls: "token:<token_id>" for a static bearer token, "oauth:<grant id>" for OAuth; empty without auth.
  std::string caller;
  /// Stops when the client cancels the request (notifications/cancelled) or the session ends.
  std::stop_token cancelled;
  /// Sends notifications/progress when the client gave a progressToken; a no-op otherwise.
  std::function<void(double progress, std::optional<double> total, const std::string& message)> progress =
      [](double, std::optional<double>, const std::string&) {};
  /// Sends notifications/message at `level` when the client's logging level lets it through.
  std::function<void(const std::string& level, const json& data)> log = [](const std::string&, const json&) {};
};

/// Runs a tool. Returns a CallToolResult object ({content, structuredContent?, isError?}).
/// An Error of any kind, arguments that do not fit the schema included, becomes a result with
/// isError: true and the message as text (tool_error), so the model can read it and act: the
/// rule of MCP 2025-11-25, applied to every revision by call_tool.
using ToolHandler = std::function<core::Result<json>(const json& arguments, ToolContext& context)>;

/// The CallToolResult of a call that failed: `message` as its one text content, isError: true.
[[nodiscard]] json tool_error(std::string_view message);

/// The tools a server offers, in the order they were added.
class ToolRegistry {
 public:
  /// Adds a tool; a second tool with the same name replaces the first.
  void add(ToolDefinition definition, ToolHandler handler);
  /// Every definition, in order.
  [[nodiscard]] const std::vector<ToolDefinition>& definitions() const { return m_definitions; }
  /// The handler of `name`, or nullptr.
  [[nodiscard]] const ToolHandler* find(const std::string& name) const;

 private:
  std::vector<ToolDefinition> m_definitions;
  std::map<std::string, ToolHandler> m_handlers;
};

}  // namespace mcp
