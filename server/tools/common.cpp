#include "tools/common.hpp"

#include <spdlog/spdlog.h>

#include "core/random.hpp"
#include "sandbox/paths.hpp"
#include "tools/active_conversations.hpp"
#include "tools/resource_uri.hpp"

namespace tools {

json success(const std::string& text, json structured) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})},
          {"structuredContent", std::move(structured)},
          {"isError", false}};
}

namespace {

// A conversation that does not exist yet, born in a pre-made directory; nullopt when there is none.
std::optional<sandbox::Workspace> born_in_fresh_directory(
    const std::string& id, const Services& services,
    const std::function<std::optional<sandbox::Workspace>()>& take_fresh) {
  const auto exists = services.workspaces.exists(id);
  if (!exists || *exists) return std::nullopt;
  auto fresh = take_fresh();
  if (!fresh) return std::nullopt;
  auto adopted = services.workspaces.adopt(id, *fresh);
  if (!adopted) {
    // Another call made the conversation first: it lives where that call put it.
    if (services.new_conversations != nullptr) services.new_conversations->give_up(*fresh);
    return std::nullopt;
  }
  return std::move(*adopted);
}

}  // namespace

core::Result<Conversation> resolve_conversation(const Arguments& arguments, const mcp::ToolContext& context,
                                                const Services& services,
                                                const std::function<std::optional<sandbox::Workspace>()>& take_fresh) {
  auto given = arguments.optional_string("conversationId");
  if (!given) return core::fail(given.error());
  std::string id;
  if (*given && !(*given)->empty()) {
    id = **given;
  } else if (!context.session_id.empty()) {
    id = "session-" + context.session_id;
  } else {
    id = "conv-" + core::random_hex(16);
  }
  core::Result<sandbox::Workspace> workspace = core::fail(core::ErrorKind::not_found, "");
  if (take_fresh) {
    if (auto born = born_in_fresh_directory(id, services, take_fresh)) workspace = std::move(*born);
  }
  if (!workspace) workspace = services.workspaces.open(id);
  if (!workspace) return core::fail(workspace.error());
  // The one place every tool call that names a conversation passes: the caller's list (persistent,
  // keys only) stays current, and the id is kept in memory so that resources/list can name it.
  if (auto recorded = services.workspaces.record_use(context.caller, *workspace); !recorded) {
    spdlog::warn("conversation index: cannot record a use: {}", recorded.error().message);
  }
  if (services.active != nullptr) services.active->touch(conversation_key(*workspace), id);
  return Conversation{id, *workspace};
}

std::string conversation_key(const sandbox::Workspace& workspace) { return workspace.key; }

json resource_link(const Services& services, const Conversation& conversation, const std::string& path,
                   std::int64_t size) {
  return {{"type", "resource_link"},
          {"uri", resource_uri(conversation.id, path)},
          {"name", path},
          {"mimeType", sandbox::mime_type_for(path)},
          {"size", size},
          {"_meta", {{kDownloadUrlMeta, services.signer.url_for(conversation.workspace.name, path)}}}};
}

void announce_changes(const Services& services, const mcp::ToolContext& context, const Conversation& conversation,
                      const std::vector<std::string>& paths, bool list_changed) {
  if (services.resource_events == nullptr || (paths.empty() && !list_changed)) return;
  mcp::ResourceChange change;
  change.caller = context.caller;
  change.list_changed = list_changed;
  change.updated.reserve(paths.size());
  for (const auto& path : paths) change.updated.push_back(resource_uri(conversation.id, path));
  services.resource_events->publish(change);
}

std::string files_url(const Services& services, const sandbox::Workspace& workspace) {
  return services.public_base_url + sandbox::UrlSigner::file_path(workspace.name, "");
}

json file_entry(const Services& services, const sandbox::Workspace& workspace, const std::string& path,
                std::int64_t size) {
  return {{"name", path},
          {"size", size},
          {"mimeType", sandbox::mime_type_for(path)},
          {"url", services.signer.url_for(workspace.name, path)}};
}

json storage_json(const std::optional<sandbox::VolumeUsage>& usage) {
  if (!usage) return nullptr;
  return {{"usedBytes", usage->used_bytes},
          {"limitBytes", usage->total_bytes},
          {"usedFiles", usage->used_files},
          {"limitFiles", usage->total_files},
          {"full", usage->full()}};
}

json storage_schema() {
  return {{"type", {"object", "null"}},
          {"description", "Space used in this conversation's /data, and its quota (null when unlimited)"},
          {"properties",
           {{"usedBytes", {{"type", "integer"}}},
            {"limitBytes", {{"type", "integer"}}},
            {"usedFiles", {{"type", "integer"}}},
            {"limitFiles", {{"type", "integer"}}},
            {"full", {{"type", "boolean"}}}}}};
}

std::string storage_full_note(const std::optional<sandbox::VolumeUsage>& usage) {
  if (!usage || !usage->full()) return {};
  return "Conversation storage full: " + usage->describe() +
         ". Writes to /data fail with 'No space left on device' until files are deleted (delete_file).";
}

json conversation_id_schema() {
  return {{"type", "string"},
          {"description",
           "Identifies the conversation whose files (/data) this call uses. Pass back the conversationId "
           "returned by an earlier call to keep working with the same files. Letters, digits and . _ : @ -, "
           "at most 128 characters."},
          {"maxLength", 128}};
}

}  // namespace tools
