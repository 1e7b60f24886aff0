#pragma once

#include "mcp/tool.hpp"
#include "tools/services.hpp"

namespace tools {

/// run_code: runs a program in a fresh container with the conversation's files at /data.
mcp::ToolDefinition run_code_definition(const Services& services);
mcp::ToolHandler run_code_handler(Services& services);

}  // namespace tools
