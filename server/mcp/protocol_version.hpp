#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mcp {

/// What one MCP protocol revision has, as far as this server's methods and shapes differ by it.
struct Revision {
  std::string_view version;
  bool stateless = false;          ///< 2026-07-28: per-request _meta, server/discover, no initialize or sessions
  bool batches = false;            ///< JSON-RPC batches (2025-03-26 only: added then, removed in 2025-06-18)
  bool ping = true;                ///< removed in 2026-07-28
  bool set_level = true;           ///< logging/setLevel; 2026-07-28 uses _meta logLevel per request instead
  bool tool_annotations = false;   ///< Tool.annotations (2025-03-26 on)
  bool structured_output = false;  ///< Tool.title, Tool.outputSchema, CallToolResult.structuredContent (2025-06-18 on)
  bool progress_message = false;   ///< notifications/progress carries `message` (2025-03-26 on)
  bool result_type = false;        ///< results carry resultType and _meta serverInfo; lists are cacheable (2026-07-28)
  bool resource_links = false;     ///< `resource_link` content blocks, Resource.title and _meta (2025-06-18 on)
};

/// The revision negotiated by `initialize` when the client asks for one we do not have.
inline constexpr std::string_view kLatestSessionVersion = "2025-11-25";
/// The first (and only supported) stateless revision.
inline constexpr std::string_view kStatelessVersion = "2026-07-28";
/// What a 2025 Streamable HTTP server assumes when MCP-Protocol-Version is absent.
inline constexpr std::string_view kDefaultHeaderVersion = "2025-03-26";

/// The revision named `version`, or nullptr when this server does not implement it.
[[nodiscard]] const Revision* find_revision(std::string_view version);

/// The revision named `version`; it must be supported.
[[nodiscard]] const Revision& revision(std::string_view version);

/// Every supported version, newest first (what UnsupportedProtocolVersionError lists).
[[nodiscard]] const std::vector<std::string>& supported_versions();

/// The stateless versions only (what server/discover lists: a client picks one for its per-request _meta).
[[nodiscard]] const std::vector<std::string>& stateless_versions();

/// Whether `version` belongs to the stateless era by its date (2026-07-28 or later), supported or not;
/// revision names are ISO dates, so they order as strings.
[[nodiscard]] bool is_stateless_era(std::string_view version);

/// The answer to `initialize` asking for `requested`: the same version when it is a session-era revision
/// we support, otherwise our latest session-era one (initialize never negotiates a stateless revision).
[[nodiscard]] std::string negotiate_session_version(std::string_view requested);

}  // namespace mcp
