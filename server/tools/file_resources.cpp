#include "tools/file_resources.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <utility>
#include <vector>

#include "core/encoding.hpp"
#include "runner/package_install.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/files.hpp"
#include "sandbox/paths.hpp"
#include "tools/common.hpp"
#include "tools/resource_uri.hpp"

namespace tools {
namespace {

using mcp::json;
using mcp::RpcError;

tl::unexpected<RpcError> invalid(const std::string& message) {
  return tl::unexpected(RpcError{mcp::error_code::invalid_params, "Invalid params: " + message, nullptr});
}

tl::unexpected<RpcError> not_found(const std::string& uri, const std::string& message) {
  return tl::unexpected(RpcError{mcp::kResourceNotFound, "Resource not found: " + message, json{{"uri", uri}}});
}

tl::unexpected<RpcError> internal(const std::string& what, const core::Error& error) {
  spdlog::error("resources: {}: {}", what, core::printable(error.message));
  return tl::unexpected(RpcError{mcp::error_code::internal_error, "Internal error", nullptr});
}

// The file tools' refusals, as resources/* errors: what names nothing is -32002, what the path rules
// refuse (links, special files, escapes) is -32602 with the file tools' own words.
tl::unexpected<RpcError> refused(const std::string& uri, const core::Error& error) {
  switch (error.kind) {
    case core::ErrorKind::not_found: return not_found(uri, error.message);
    case core::ErrorKind::invalid_argument:
    case core::ErrorKind::conflict: return invalid(error.message);
    default: return internal("read " + core::printable(uri), error);
  }
}

std::string iso8601(std::int64_t unix_ns) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ns / 1'000'000'000);
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[32];
  const auto length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return std::string(text, length);
}

// A listing position: the conversation key and the file path of the last resource of a page.
std::string encode_cursor(const std::string& key, const std::string& path) {
  return core::base64_encode(key + "\n" + path);
}

std::optional<std::pair<std::string, std::string>> decode_cursor(const std::string& cursor) {
  auto text = core::base64_decode(cursor);
  if (!text) return std::nullopt;
  const auto newline = text->find('\n');
  if (newline == std::string::npos) return std::nullopt;
  return std::make_pair(text->substr(0, newline), text->substr(newline + 1));
}

// One file of an active conversation, on its way into a page.
struct Listed {
  std::string key;
  std::string id;
  std::string sandbox;  ///< the conversation's directory name, for its download URL
  sandbox::FileInfo file;
};

}  // namespace

FileResources::FileResources(const Services& services, const ActiveConversations& active,
                             sandbox::ConversationIndex* index)
    : m_services(services), m_active(active), m_index(index) {}

tl::expected<json, RpcError> FileResources::list(const mcp::ResourceScope& scope, const std::string& cursor) const {
  std::optional<std::pair<std::string, std::string>> after;
  if (!cursor.empty()) {
    after = decode_cursor(cursor);
    if (!after) return invalid("unknown cursor");
  }
  json result{{"resources", json::array()}};
  if (m_index == nullptr || scope.caller.empty()) return result;
  const auto& limits = m_services.result_limits;
  auto recent = m_index->recent(scope.caller, limits.max_listed_conversations);
  if (!recent) return internal("the conversation index", recent.error());

  // Every listed file, up to the caps, in a fixed order: the caller's conversations newest first,
  // each one's files by path. Only conversations in use are looked at, without mounting anything.
  std::vector<Listed> listed;
  for (const auto& conversation : *recent) {
    const auto id = m_active.id_for(conversation.key);
    if (!id) continue;  // not in memory: reachable through the template only
    auto workspace = m_services.workspaces.find(*id, /*mount=*/false);
    if (!workspace || conversation_key(*workspace) != conversation.key) continue;  // idle, or gone
    auto files = sandbox::SandboxFiles(workspace->server_path)
                     .list("", true, sandbox::ScanLimits{limits.max_listed_files * 4, 16}, runner::kPackagesFolder);
    if (!files) continue;
    std::size_t count = 0;
    for (auto& entry : files->entries) {
      if (entry.type != sandbox::FileInfo::Type::file) continue;
      if (++count > limits.max_listed_files) break;
      listed.push_back(Listed{conversation.key, *id, workspace->name, std::move(entry)});
    }
  }

  std::size_t start = 0;
  if (after) {
    const auto it = std::find_if(listed.begin(), listed.end(), [&](const Listed& item) {
      return item.key == after->first && item.file.path == after->second;
    });
    // The file the page ended at is gone (deleted, or its conversation went idle): start again.
    if (it == listed.end()) return invalid("the cursor is stale (the files changed); list again without one");
    start = static_cast<std::size_t>(it - listed.begin()) + 1;
  }
  const auto& revision = *scope.revision;
  auto& resources = result["resources"];
  const auto end = std::min(listed.size(), start + limits.resource_page_size);
  for (std::size_t i = start; i < end; ++i) {
    const auto& item = listed[i];
    json resource{{"uri", resource_uri(item.id, item.file.path)},
                  {"name", item.file.path},
                  {"description", "A file in /data of conversation " + item.id},
                  {"mimeType", sandbox::mime_type_for(item.file.path)},
                  {"size", item.file.size}};
    if (revision.resource_links) {
      resource["annotations"] = {{"lastModified", iso8601(item.file.mtime_ns)}};
      resource["_meta"] = {{kDownloadUrlMeta, m_services.signer.url_for(item.sandbox, item.file.path)}};
    }
    resources.push_back(std::move(resource));
  }
  if (end < listed.size()) result["nextCursor"] = encode_cursor(listed[end - 1].key, listed[end - 1].file.path);
  return result;
}

tl::expected<json, RpcError> FileResources::read(const mcp::ResourceScope& scope, const std::string& uri) const {
  auto name = parse_resource_uri(uri);
  if (!name) return invalid(name.error().message);
  // Any conversation the caller names, as with the tools; but reading never creates one.
  auto workspace = m_services.workspaces.find(name->conversation_id, /*mount=*/true);
  if (!workspace) return refused(uri, workspace.error());
  const sandbox::SandboxFiles files(workspace->server_path);
  std::int64_t size = 0;
  if (auto opened = files.open_regular(name->path, size); !opened) return refused(uri, opened.error());
  const auto url = m_services.signer.url_for(workspace->name, name->path);
  const auto cap = m_services.result_limits.resource_read_bytes;
  if (size > cap) {
    return tl::unexpected(RpcError{
        mcp::error_code::invalid_params,
        name->path + " is " + std::to_string(size) + " bytes, more than resources/read returns (" + std::to_string(cap) +
            " bytes); download it from its URL instead: " + url,
        json{{"uri", uri}, {"size", size}, {"maxBytes", cap}, {"downloadUrl", url}}});
  }
  auto content = files.read(name->path, static_cast<std::size_t>(cap));
  if (!content) return refused(uri, content.error());
  const auto mime = sandbox::mime_type_for(name->path);
  json item{{"uri", uri}, {"mimeType", mime}};
  const bool media = mime.starts_with("image/") || mime.starts_with("audio/") || mime.starts_with("video/");
  if (!media && core::is_valid_utf8(*content) && content->find('\0') == std::string::npos) {
    item["text"] = std::move(*content);
  } else {
    item["blob"] = core::base64_encode(*content);
  }
  if (scope.revision->resource_links) item["_meta"] = {{kDownloadUrlMeta, url}};
  return json{{"contents", json::array({std::move(item)})}};
}

json FileResources::templates(const mcp::Revision& revision) const {
  json entry{{"uriTemplate", std::string(kResourceUriTemplate)},
             {"name", "conversation-file"},
             {"description",
              "A file in the /data of a conversation: the conversationId the tools return, then the file's path "
              "inside /data. Works for any conversation you know the id of, listed or not."}};
  if (revision.structured_output) entry["title"] = "A conversation's file";
  return json::array({std::move(entry)});
}

std::string FileResources::check_uri(const std::string& uri) const {
  auto name = parse_resource_uri(uri);
  return name ? std::string() : name.error().message;
}

}  // namespace tools
