#include "mcp/tool.hpp"

#include <algorithm>
#include <utility>

namespace mcp {

void ToolRegistry::add(ToolDefinition definition, ToolHandler handler) {
  const auto existing = std::find_if(m_definitions.begin(), m_definitions.end(),
                                     [&](const ToolDefinition& tool) { return tool.name == definition.name; });
  // Replacing in place keeps tools/list in a stable order, which the 2026 revision asks for (client caching).
  if (existing != m_definitions.end()) {
    *existing = definition;
  } else {
    m_definitions.push_back(definition);
  }
  m_handlers[definition.name] = std::move(handler);
}

json tool_error(std::string_view message) {
  return json{{"content", json::array({json{{"type", "text"}, {"text", message}}})}, {"isError", true}};
}

const ToolHandler* ToolRegistry::find(const std::string& name) const {
  const auto it = m_handlers.find(name);
  return it == m_handlers.end() ? nullptr : &it->second;
}

}  // namespace mcp
