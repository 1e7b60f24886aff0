#include "tools/file_tools.hpp"

#include "core/encoding.hpp"
#include "runner/package_install.hpp"
#include "sandbox/paths.hpp"
#include "tools/common.hpp"

namespace tools {
namespace {

json path_schema(const char* description) {
  return {{"type", "string"}, {"description", description}, {"maxLength", sandbox::kMaxPathBytes}};
}

json object_schema(json properties, json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

json file_schema() {
  return object_schema({{"name", {{"type", "string"}}},
                        {"size", {{"type", "integer"}}},
                        {"mimeType", {{"type", "string"}}},
                        {"url", {{"type", "string"}}}},
                       {"name", "size", "mimeType", "url"});
}

// Runs `body` with the conversation resolved and the path argument checked.
template <typename Body>
core::Result<json> with_conversation(Services& services, const json& arguments, mcp::ToolContext& context,
                                     const char* path_field, bool path_required, Body body) {
  const Arguments args(arguments);
  std::string path;
  if (path_required) {
    auto value = args.required_string(path_field);
    if (!value) return core::fail(value.error());
    path = *value;
  } else {
    auto value = args.optional_string(path_field);
    if (!value) return core::fail(value.error());
    path = value->value_or("");
  }
  if (auto problem = sandbox::check_relative_path(path, !path_required); !problem.empty()) {
    return core::fail(core::ErrorKind::invalid_argument, std::string(path_field) + ": " + problem);
  }
  auto conversation = resolve_conversation(args, context, services);
  if (!conversation) return core::fail(conversation.error());
  return body(args, *conversation, path, sandbox::SandboxFiles(conversation->workspace.server_path));
}

}  // namespace

mcp::ToolDefinition upload_file_definition() {
  return {"upload_file",
          "Upload a file",
          "Store a file in the conversation's /data so programs run with run_code can read it. Content is base64. "
          "Sub-folders in the name are created. Returns the file's download URL.",
          object_schema({{"conversationId", conversation_id_schema()},
                         {"filename", path_schema("Path inside /data, e.g. data/input.csv")},
                         {"content", {{"type", "string"}, {"description", "The file's bytes, base64-encoded"}}}},
                        {"filename", "content"}),
          object_schema({{"conversationId", {{"type", "string"}}}, {"file", file_schema()}}, {"conversationId", "file"}),
          json{{"title", "Upload a file"}, {"readOnlyHint", false}, {"destructiveHint", true},
               {"idempotentHint", true}, {"openWorldHint", false}}};
}

mcp::ToolHandler upload_file_handler(Services& services) {
  return [&services](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
    return with_conversation(
        services, arguments, context, "filename", true,
        [&](const Arguments& args, const Conversation& conversation, const std::string& path,
            const sandbox::SandboxFiles& files) -> core::Result<json> {
          auto content = args.required_string("content");
          if (!content) return core::fail(content.error());
          auto bytes = core::base64_decode(*content);
          if (!bytes) return core::fail(core::ErrorKind::invalid_argument, "content is not valid base64");
          std::int64_t old_size = 0;
          const bool existed = files.open_regular(path, old_size).has_value();
          if (auto written = files.write(path, *bytes); !written) {
            // Over the quota nothing is stored (the file is named only once complete): say how full it is.
            auto usage = services.workspaces.usage(conversation.workspace);
            const bool no_space = written.error().kind == core::ErrorKind::unavailable && usage;
            if (no_space) services.metrics.storage_full();
            if (!no_space) return core::fail(written.error());
            return core::fail(written.error().kind, written.error().message + " (" + std::to_string(bytes->size()) +
                                                        " bytes do not fit; conversation storage: " + usage->describe() +
                                                        ")");
          }
          // An upload usually precedes a run: start the conversation's next container now.
          services.executor.prewarm(conversation.workspace);
          const auto size = static_cast<std::int64_t>(bytes->size());
          auto entry = file_entry(services, conversation.workspace, path, size);
          announce_changes(services, context, conversation, {path}, !existed);
          json result = success("Stored " + path + " (" + std::to_string(bytes->size()) +
                                    " bytes) in /data of conversation " + conversation.id +
                                    ". Download: " + entry["url"].get<std::string>(),
                                {{"conversationId", conversation.id}, {"file", entry}});
          result["content"].push_back(resource_link(services, conversation, path, size));
          return result;
        });
  };
}

mcp::ToolDefinition list_files_definition() {
  return {"list_files",
          "List files",
          "List the files in the conversation's /data (recursively), with sizes and download URLs.",
          object_schema({{"conversationId", conversation_id_schema()},
                         {"path", path_schema("A folder inside /data to list (default: all of /data)")}},
                        json::array()),
          object_schema({{"conversationId", {{"type", "string"}}},
                         {"files", {{"type", "array"}, {"items", file_schema()}}},
                         {"truncated", {{"type", "boolean"}}},
                         {"storage", storage_schema()}},
                        {"conversationId", "files", "truncated"}),
          json{{"title", "List files"}, {"readOnlyHint", true}, {"openWorldHint", false}}};
}

mcp::ToolHandler list_files_handler(Services& services) {
  return [&services](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
    return with_conversation(
        services, arguments, context, "path", false,
        [&](const Arguments&, const Conversation& conversation, const std::string& path,
            const sandbox::SandboxFiles& files) -> core::Result<json> {
          const auto max = services.result_limits.max_listed_files;
          // Installed packages are listed only when asked for by their folder's name.
          auto listing = files.list(path, true, sandbox::ScanLimits{max * 4, 16}, runner::kPackagesFolder);
          if (!listing) return core::fail(listing.error());
          json list = json::array();
          bool truncated = listing->truncated;
          std::string text;
          for (const auto& entry : listing->entries) {
            if (entry.type != sandbox::FileInfo::Type::file) continue;
            if (list.size() >= max) {
              truncated = true;
              break;
            }
            list.push_back(file_entry(services, conversation.workspace, entry.path, entry.size));
            text += "\n" + entry.path + " (" + std::to_string(entry.size) + " bytes)";
          }
          const auto usage = services.workspaces.usage(conversation.workspace);
          text = (list.empty() ? "No files" : std::to_string(list.size()) + " file(s)") + std::string(" in /data") +
                 (path.empty() ? "" : "/" + path) + " of conversation " + conversation.id +
                 (truncated ? " (list cut short)" : "") + (usage ? "; storage " + usage->describe() : "") + text;
          json result = success(text, {{"conversationId", conversation.id},
                                       {"files", list},
                                       {"truncated", truncated},
                                       {"storage", storage_json(usage)}});
          for (const auto& file : list) {
            result["content"].push_back(
                resource_link(services, conversation, file["name"].get<std::string>(), file["size"].get<std::int64_t>()));
          }
          return result;
        });
  };
}

mcp::ToolDefinition read_file_definition() {
  return {"read_file",
          "Read a file",
          "Read a file from the conversation's /data: text comes back as text, images are shown, other binary "
          "files get a download URL.",
          object_schema({{"conversationId", conversation_id_schema()},
                         {"path", path_schema("Path inside /data")}},
                        {"path"}),
          object_schema({{"conversationId", {{"type", "string"}}}, {"file", file_schema()}}, {"conversationId", "file"}),
          json{{"title", "Read a file"}, {"readOnlyHint", true}, {"openWorldHint", false}}};
}

mcp::ToolHandler read_file_handler(Services& services) {
  return [&services](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
    return with_conversation(
        services, arguments, context, "path", true,
        [&](const Arguments&, const Conversation& conversation, const std::string& path,
            const sandbox::SandboxFiles& files) -> core::Result<json> {
          auto content = files.read(path, static_cast<std::size_t>(services.result_limits.read_file_bytes));
          if (!content) return core::fail(content.error());
          auto entry = file_entry(services, conversation.workspace, path, static_cast<std::int64_t>(content->size()));
          const auto mime = entry["mimeType"].get<std::string>();
          json structured = {{"conversationId", conversation.id}, {"file", entry}};
          if (sandbox::is_inline_image(mime)) {
            json result = success(path + " (" + mime + ", " + std::to_string(content->size()) + " bytes)", structured);
            result["content"].push_back({{"type", "image"}, {"data", core::base64_encode(*content)}, {"mimeType", mime}});
            return result;
          }
          if (!core::is_valid_utf8(*content) || content->find('\0') != std::string::npos) {
            return success(path + " is a binary file (" + mime + ", " + std::to_string(content->size()) +
                               " bytes). Download: " + entry["url"].get<std::string>(),
                           structured);
          }
          return success(*content, structured);
        });
  };
}

mcp::ToolDefinition delete_file_definition() {
  return {"delete_file",
          "Delete a file",
          "Delete a file, or a folder with everything in it, from the conversation's /data.",
          object_schema({{"conversationId", conversation_id_schema()},
                         {"path", path_schema("Path inside /data")}},
                        {"path"}),
          object_schema({{"conversationId", {{"type", "string"}}}, {"path", {{"type", "string"}}},
                         {"deleted", {{"type", "boolean"}}}},
                        {"conversationId", "path", "deleted"}),
          json{{"title", "Delete a file"}, {"readOnlyHint", false}, {"destructiveHint", true},
               {"idempotentHint", true}, {"openWorldHint", false}}};
}

mcp::ToolHandler delete_file_handler(Services& services) {
  return [&services](const json& arguments, mcp::ToolContext& context) -> core::Result<json> {
    return with_conversation(
        services, arguments, context, "path", true,
        [&](const Arguments&, const Conversation& conversation, const std::string& path,
            const sandbox::SandboxFiles& files) -> core::Result<json> {
          if (auto removed = files.remove(path); !removed) return core::fail(removed.error());
          announce_changes(services, context, conversation, {path}, true);
          return success("Deleted " + path + " from /data of conversation " + conversation.id,
                         {{"conversationId", conversation.id}, {"path", path}, {"deleted", true}});
        });
  };
}

}  // namespace tools
