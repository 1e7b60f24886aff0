#pragma once

#include "metrics/metrics.hpp"
#include "sandbox/url_signer.hpp"
#include "sandbox/workspace.hpp"

namespace httplib {
class Server;
}

namespace http {

/// Mounts GET/HEAD /files/<sandbox>/<path>?exp=…&sig=…: signed, expiring
/// downloads that need no bearer token. The file is streamed (Range
/// supported), never loaded whole, and never reached through a link.
void mount_file_routes(httplib::Server& server, const sandbox::Workspaces& workspaces,
                       const sandbox::UrlSigner& signer, metrics::Metrics& metrics);

}  // namespace http
