#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>

#include "mcp/json_rpc.hpp"
#include "mcp/logging_level.hpp"

namespace mcp {

/// Reserved `_meta` keys of the 2026-07-28 revision.
namespace meta_key {
inline constexpr std::string_view protocol_version = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view client_info = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view client_capabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view log_level = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view server_info = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view subscription_id = "io.modelcontextprotocol/subscriptionId";
}  // namespace meta_key

/// What a stateless (2026-07-28) request says about itself in `params._meta`.
struct RequestEnvelope {
  std::string protocol_version;
  json client_info;                   ///< {name, version, ...}; null when the client sent none
  json client_capabilities;           ///< an object, possibly empty
  std::optional<LogLevel> log_level;  ///< no notifications/message for the request without it
};

/// Whether `params._meta` carries the protocol-version key: such a message claims the per-request
/// envelope (the stateless era), whatever else is wrong with it.
[[nodiscard]] bool has_envelope_claim(const json& params);

/// The version the envelope claims, when the claim is a string.
[[nodiscard]] std::optional<std::string> claimed_version(const json& params);

/// Reads and checks the per-request envelope: missing or malformed fields are -32602, a version we do
/// not implement is -32022 (UnsupportedProtocolVersionError) listing the ones we do.
[[nodiscard]] tl::expected<RequestEnvelope, RpcError> read_envelope(const json& params);

/// The request's `_meta.progressToken` (a string or number) when it asks for progress notifications; null otherwise.
[[nodiscard]] json progress_token(const json& params);

/// The -32022 error for a request that asked for `requested`.
[[nodiscard]] RpcError unsupported_version_error(std::string_view requested);

}  // namespace mcp
