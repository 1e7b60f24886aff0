#pragma once

#include <ostream>
#include <string>

#include "config/config.hpp"

namespace cli {

/// What `mcp-sandbox oauth` was asked to do.
struct OAuthArgs {
  bool list = false;
  std::string revoke;  ///< a grant id, or "all"
};

/// `mcp-sandbox oauth list` prints the grants the owner approved (id, client, since, last used);
/// `mcp-sandbox oauth revoke <grant-id|all>` revokes them at once, also while the server runs (the
/// server checks every access token against the database). Exit status 0, 1 (no such grant), 2
/// (no OAuth database: OAuth was never enabled with this STATE_DIR).
int oauth_command(const config::Config& config, const OAuthArgs& args, std::ostream& out, std::ostream& err);

}  // namespace cli
