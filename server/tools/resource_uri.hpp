#pragma once

#include <string>
#include <string_view>

#include "core/error.hpp"

namespace tools {

/// A conversation's files as MCP resources: `sandbox://conversations/<conversationId>/<path>`, the
/// path percent-encoded per component (so `/` still separates folders).
inline constexpr std::string_view kResourceUriPrefix = "sandbox://conversations/";

/// The resource template every file of every conversation fits (RFC 6570 reserved expansion for the path).
inline constexpr std::string_view kResourceUriTemplate = "sandbox://conversations/{conversationId}/{+path}";

/// The URI of `path` (a checked relative path) in conversation `conversation_id`.
[[nodiscard]] std::string resource_uri(std::string_view conversation_id, std::string_view path);

/// A resource URI taken apart.
struct ResourceName {
  std::string conversation_id;
  std::string path;  ///< decoded, relative to /data
};

/// Reads a resource URI: invalid_argument, with the message the file tools give for the same
/// problem (`conversationId ...`, `path: ...`), when it is not one of ours or names no file.
[[nodiscard]] core::Result<ResourceName> parse_resource_uri(std::string_view uri);

}  // namespace tools
