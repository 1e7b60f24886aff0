#include "tools/resource_uri.hpp"

#include <optional>

#include "core/encoding.hpp"
#include "sandbox/paths.hpp"
#include "sandbox/workspace.hpp"

namespace tools {

std::string resource_uri(std::string_view conversation_id, std::string_view path) {
  // Conversation ids are letters, digits and . _ : @ -, all allowed in a URI path segment.
  return std::string(kResourceUriPrefix) + core::percent_encode(conversation_id, ":@") + "/" +
         core::percent_encode(path, "/");
}

core::Result<ResourceName> parse_resource_uri(std::string_view uri) {
  if (!uri.starts_with(kResourceUriPrefix)) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "not a resource of this server: URIs look like " + std::string(kResourceUriTemplate));
  }
  const auto rest = uri.substr(kResourceUriPrefix.size());
  const auto slash = rest.find('/');
  if (slash == std::string_view::npos) {
    return core::fail(core::ErrorKind::invalid_argument, "path: the URI names a conversation but no file in it");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return core::fail(core::ErrorKind::invalid_argument, "a resource URI has no query or fragment");
  }
  auto id = core::percent_decode(rest.substr(0, slash));
  auto path = core::percent_decode(rest.substr(slash + 1));
  if (!id || !path) return core::fail(core::ErrorKind::invalid_argument, "the URI has a malformed %-escape");
  if (auto problem = sandbox::Workspaces::check_conversation_id(*id); !problem.empty()) {
    return core::fail(core::ErrorKind::invalid_argument, problem);
  }
  // The same check, and the same words, as the file tools' `path` argument.
  if (auto problem = sandbox::check_relative_path(*path); !problem.empty()) {
    return core::fail(core::ErrorKind::invalid_argument, "path: " + problem);
  }
  return ResourceName{std::move(*id), std::move(*path)};
}

}  // namespace tools
