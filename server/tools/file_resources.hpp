#pragma once

#include <string>

#include "mcp/resources.hpp"
#include "tools/active_conversations.hpp"
#include "tools/services.hpp"

namespace sandbox {
class ConversationIndex;
}

namespace tools {

/// The files of conversations as MCP resources (`sandbox://conversations/<id>/<path>`).
///
/// resources/list shows the files of the caller's conversations (the conversation index: those its
/// identity used, newest first) that are active: remembered in memory with their id and mounted now.
/// It never mounts an idle conversation's volume to list it; those, and any conversation the caller
/// knows the id of, are reachable through the resource template. resources/read reads any
/// conversation the caller names, as the tools do, with the file tools' path rules (sandbox::SandboxFiles:
/// no links followed, regular files only, nothing outside /data). Thread-safe.
class FileResources : public mcp::ResourceProvider {
 public:
  /// All must outlive this object; `index` may be null (then nothing is listed).
  FileResources(const Services& services, const ActiveConversations& active, sandbox::ConversationIndex* index);

  [[nodiscard]] tl::expected<mcp::json, mcp::RpcError> list(const mcp::ResourceScope& scope,
                                                            const std::string& cursor) const override;
  [[nodiscard]] tl::expected<mcp::json, mcp::RpcError> read(const mcp::ResourceScope& scope,
                                                            const std::string& uri) const override;
  [[nodiscard]] mcp::json templates(const mcp::Revision& revision) const override;
  [[nodiscard]] std::string check_uri(const std::string& uri) const override;

 private:
  const Services& m_services;
  const ActiveConversations& m_active;
  sandbox::ConversationIndex* m_index;
};

}  // namespace tools
