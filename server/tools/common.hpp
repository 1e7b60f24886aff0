#pragma once

#include <map>
#include <string>
#include <vector>

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

/// The key of a conversation in the conversation index and in ActiveConversations: the HMAC of its
/// id (never the id), the same whichever directory it lives in (its own, or one adopted from a pool).
std::string conversation_key(const sandbox::Workspace& workspace);

/// The `_meta` key of a resource (link or listing entry) that holds its signed download URL, which a
/// client can fetch without the API token until it expires.
inline constexpr const char* kDownloadUrlMeta = "mcp-sandbox/downloadUrl";

/// A `resource_link` content block for a file of the conversation: its sandbox:// URI (readable with
/// resources/read), name, MIME type, size and download URL. call_tool drops these blocks for
/// revisions before 2025-06-18, which do not have them.
json resource_link(const Services& services, const Conversation& conversation, const std::string& path,
                   std::int64_t size);

/// Tells resource listeners that this call changed `paths` of the conversation (written or deleted)
/// and, with `list_changed`, which files it has.
void announce_changes(const Services& services, const mcp::ToolContext& context, const Conversation& conversation,
                      const std::vector<std::string>& paths, bool list_changed);

/// {name, size, mimeType, url} for a regular file in a conversation.
json file_entry(const Services& services, const sandbox::Workspace& workspace, const std::string& path,
                std::int64_t size);

/// {usedBytes, limitBytes, usedFiles, limitFiles, full} of a conversation's volume; null without a quota.
json storage_json(const std::optional<sandbox::VolumeUsage>& usage);

/// The schema of storage_json's value.
json storage_schema();

/// A sentence for a model when the conversation's volume is full, else "".
std::string storage_full_note(const std::optional<sandbox::VolumeUsage>& usage);
/// The base of the conversation's download URLs, which every run gets as FILE_BASE_URL.
std::string files_url(const Services& services, const sandbox::Workspace& workspace);

/// The `conversationId` property every tool's input schema shares.
json conversation_id_schema();

}  // namespace tools
