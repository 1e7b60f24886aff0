#include "cli/oauth_command.hpp"

#include <ctime>

#include "oauth/store.hpp"

namespace cli {

namespace {

std::string when(std::int64_t unix_seconds) {
  const std::time_t time = unix_seconds;
  std::tm parts{};
  gmtime_r(&time, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &parts);
  return text;
}

}  // namespace

int oauth_command(const config::Config& config, const OAuthArgs& args, std::ostream& out, std::ostream& err) {
  auto store = oauth::Store::open(oauth::database_path(config.state_directory()), /*create=*/false);
  if (!store) {
    err << "mcp-sandbox oauth: " << store.error().message << "\n";
    return 2;
  }
  auto grants = (*store)->grants();
  if (!grants) {
    err << "mcp-sandbox oauth: " << grants.error().message << "\n";
    return 2;
  }
  if (args.list) {
    if (grants->empty()) out << "no grants: no client has been allowed (or every grant was revoked)\n";
    for (const auto& grant : *grants) {
      out << grant.grant_id << "  " << grant.client_name << "\n    client " << grant.client_id << "\n    allowed "
          << when(grant.created) << ", last used " << when(grant.last_used) << "\n";
    }
    return 0;
  }
  int revoked = 0;
  for (const auto& grant : *grants) {
    if (args.revoke != "all" && grant.grant_id != args.revoke) continue;
    auto done = (*store)->revoke_grant(grant.grant_id);
    if (!done) {
      err << "mcp-sandbox oauth: " << done.error().message << "\n";
      return 2;
    }
    out << "revoked " << grant.grant_id << " (" << grant.client_name << ")\n";
    ++revoked;
  }
  if (revoked == 0 && args.revoke != "all") {
    err << "mcp-sandbox oauth: no grant " << args.revoke << " (see mcp-sandbox oauth list)\n";
    return 1;
  }
  return 0;
}

}  // namespace cli
