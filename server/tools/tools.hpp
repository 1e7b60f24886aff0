#pragma once

#include <functional>
#include <map>
#include <string>

#include "mcp/tool.hpp"
#include "tools/services.hpp"

namespace tools {

/// Adds every tool (run_code, upload_file, list_files, read_file, delete_file,
/// list_runners) to `registry`. `services` must outlive the registry.
void register_tools(mcp::ToolRegistry& registry, Services& services);

}  // namespace tools
