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

/// The environment every run of a conversation in `workspace` gets (FILE_BASE_URL), for
/// containers started before their run (the new-conversation pool). `services` must outlive it.
std::function<std::map<std::string, std::string>(const sandbox::Workspace&)> run_environment_of(
    const Services& services);

}  // namespace tools
