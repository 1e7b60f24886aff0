#pragma once

#include <optional>
#include <string_view>

namespace mcp {

/// MCP log levels (RFC 5424 severities), least severe first.
enum class LogLevel { debug, info, notice, warning, error, critical, alert, emergency };

/// The level named `name` ("debug" ... "emergency"), or nullopt for anything else.
[[nodiscard]] std::optional<LogLevel> parse_log_level(std::string_view name);

/// The protocol name of `level`.
[[nodiscard]] std::string_view to_string(LogLevel level);

/// Whether a message at `level` is sent to a client whose minimum is `minimum`.
[[nodiscard]] constexpr bool passes(LogLevel level, LogLevel minimum) { return level >= minimum; }

}  // namespace mcp
