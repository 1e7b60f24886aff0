#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "mcp/tool.hpp"
#include "sandbox/files.hpp"
#include "sandbox/workspace.hpp"
#include "tools/arguments.hpp"
#include "tools/services.hpp"

namespace tools {

using nlohmann::json;

/// A CallToolResult with a text summary and structured content.
json success(const std::string& text, json structured);

/// The conversation a call works in: the `conversationId` argument; else the
/// 2025 session's own; else (stateless call) a newly minted id, returned to
/// the caller so it can pass it back.
struct Conversation {
  std::string id;
  sandbox::Workspace workspace;
};
/// `take_fresh`, when given, offers a directory made before the conversation existed (with a
/// started container): a conversation that does not exist yet is born in it.
core::Result<Conversation> resolve_conversation(
    const Arguments& arguments, const mcp::ToolContext& context, const Services& services,
    const std::function<std::optional<sandbox::Workspace>()>& take_fresh = {});

/// {name, size, mimeType, url} for a regular file in a conversation.
json file_entry(const Services& services, const sandbox::Workspace& workspace, const std::string& path,
                std::int64_t size);

/// {usedBytes, limitBytes, usedFiles, limitFiles, full} of a conversation's volume; null without a quota.
json storage_json(const std::optional<sandbox::VolumeUsage>& usage);

/// The schema of storage_json's value.
json storage_schema();

/// A sentence for a model when the conversation's volume is full, else "".
std::string storage_full_note(const std::optional<sandbox::VolumeUsage>& usage);
/// What every run of a conversation gets in its environment (FILE_BASE_URL);
/// the caller's variables are added to it. Warm containers are made with it too.
std::map<std::string, std::string> run_environment(const Services& services, const sandbox::Workspace& workspace);

/// The `conversationId` property every tool's input schema shares.
json conversation_id_schema();

}  // namespace tools
