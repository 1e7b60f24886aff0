#include "mcp/protocol_version.hpp"

#include <array>
#include <stdexcept>

namespace mcp {

namespace {

// One row per revision, from each revision's specification and changelog pages.
constexpr std::array<Revision, 5> kRevisions{{
    {.version = "2026-07-28",
     .stateless = true,
     .batches = false,
     .ping = false,
     .set_level = false,
     .tool_annotations = true,
     .structured_output = true,
     .progress_message = true,
     .result_type = true,
     .resource_links = true},
    {.version = "2025-11-25",
     .tool_annotations = true,
     .structured_output = true,
     .progress_message = true,
     .resource_links = true},
    {.version = "2025-06-18",
     .tool_annotations = true,
     .structured_output = true,
     .progress_message = true,
     .resource_links = true},
    {.version = "2025-03-26", .batches = true, .tool_annotations = true, .progress_message = true},
    {.version = "2024-11-05"},
}};

std::vector<std::string> versions_where(bool stateless_only) {
  std::vector<std::string> versions;
  for (const auto& revision : kRevisions) {
    if (!stateless_only || revision.stateless) versions.emplace_back(revision.version);
  }
  return versions;
}

}  // namespace

const Revision* find_revision(std::string_view version) {
  for (const auto& revision : kRevisions) {
    if (revision.version == version) return &revision;
  }
  return nullptr;
}

const Revision& revision(std::string_view version) {
  const Revision* found = find_revision(version);
  if (found == nullptr) {
    throw std::logic_error("unsupported protocol revision: " + std::string(version));
  }
  return *found;
}

const std::vector<std::string>& supported_versions() {
  static const std::vector<std::string> versions = versions_where(false);
  return versions;
}

const std::vector<std::string>& stateless_versions() {
  static const std::vector<std::string> versions = versions_where(true);
  return versions;
}

bool is_stateless_era(std::string_view version) { return version >= kStatelessVersion; }

std::string negotiate_session_version(std::string_view requested) {
  const Revision* found = find_revision(requested);
  if (found != nullptr && !found->stateless) {
    return std::string(requested);
  }
  return std::string(kLatestSessionVersion);
}

}  // namespace mcp
