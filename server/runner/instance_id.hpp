#pragma once

#include <string>

#include "core/error.hpp"

namespace runner {

/// The file under SANDBOX_ROOT that keeps a generated instance id across restarts.
inline constexpr const char* kInstanceIdFile = ".instance-id";

/// This deployment's instance id (label io.mcp-sandbox.instance): `configured`
/// when set (INSTANCE_ID), otherwise the one stored in
/// `<sandbox_root>/.instance-id`, generated and stored on first use. Stable
/// across restarts, so the reaper of a restarted server recognises the
/// containers its predecessor left behind. Fails when the file cannot be
/// read or written, or holds something that is not an id.
core::Result<std::string> resolve_instance_id(const std::string& sandbox_root, const std::string& configured);

}  // namespace runner
