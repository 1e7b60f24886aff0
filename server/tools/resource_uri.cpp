#include "tools/resource_uri.hpp"

#include <optional>

#include "core/encoding.hpp"
#include "sandbox/paths.hpp"
#include "sandbox/workspace.hpp"

namespace tools {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Strict RFC 3986 decoding of a path: %XX only ('+' is a plus), nothing malformed.
std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 1 < text.size() ? hex_value(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? hex_value(text[i + 2]) : -1;
    if (high < 0 || low < 0) return std::nullopt;
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  return out;
}

}  // namespace

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
  auto id = percent_decode(rest.substr(0, slash));
  auto path = percent_decode(rest.substr(slash + 1));
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
