#pragma once

namespace runner::labels {

// Label keys shared by the runner images (set by images/build-images.sh)
// and the run containers (set by the executor).
inline constexpr const char* kKind = "io.mcp-sandbox.kind";
inline constexpr const char* kKindRunner = "runner";
inline constexpr const char* kKindRun = "run";
/// The egress proxy's container (set by the deployment: ./build.sh serve, compose/server.yml).
inline constexpr const char* kKindEgressProxy = "egress-proxy";
inline constexpr const char* kLanguage = "io.mcp-sandbox.language";
inline constexpr const char* kManifest = "io.mcp-sandbox.manifest";
inline constexpr const char* kVersion = "io.mcp-sandbox.version";
inline constexpr const char* kInputsHash = "io.mcp-sandbox.inputs-hash";
inline constexpr const char* kRunId = "io.mcp-sandbox.run-id";
inline constexpr const char* kConversation = "io.mcp-sandbox.conversation";
inline constexpr const char* kStartedAt = "io.mcp-sandbox.started-at";
inline constexpr const char* kInstance = "io.mcp-sandbox.instance";

}  // namespace runner::labels
