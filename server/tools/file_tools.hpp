#pragma once

#include "mcp/tool.hpp"
#include "tools/services.hpp"

namespace tools {

/// upload_file, list_files, read_file, delete_file: the conversation's /data from outside a run.
mcp::ToolDefinition upload_file_definition();
mcp::ToolHandler upload_file_handler(Services& services);
mcp::ToolDefinition list_files_definition();
mcp::ToolHandler list_files_handler(Services& services);
mcp::ToolDefinition read_file_definition();
mcp::ToolHandler read_file_handler(Services& services);
mcp::ToolDefinition delete_file_definition();
mcp::ToolHandler delete_file_handler(Services& services);

}  // namespace tools
