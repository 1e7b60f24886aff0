#pragma once

#include "http/router.hpp"
#include "metrics/metrics.hpp"
#include "sandbox/url_signer.hpp"
#include "sandbox/workspace.hpp"

namespace routes {

/// Mounts GET/HEAD /files/<sandbox>/<path>?exp=…&sig=…: signed, expiring downloads that need no
/// bearer token. The file is streamed, never loaded whole, and never reached through a link. One
/// byte range may be asked for (Range: bytes=…); a request for several gets the whole file once, so
/// no request makes the server send more than the file's size (plus a head).
void mount_file_routes(http::Router& routes, const sandbox::Workspaces& workspaces, const sandbox::UrlSigner& signer,
                       metrics::Metrics& metrics);

/// A byte range of a file of `size` bytes, as a Range header asked for it.
struct ByteRange {
  std::uint64_t first = 0;
  std::uint64_t length = 0;
};

/// What a Range header asks of a file of `size` bytes: nullopt for the whole file (no header, a
/// header this server does not honour, such as several ranges), a range, or 416 (`satisfiable` false)
/// when the one range asked for lies outside the file.
struct RangeRequest {
  bool whole = true;
  bool satisfiable = true;
  ByteRange range;
};
[[nodiscard]] RangeRequest parse_range(std::string_view header, std::uint64_t size);

}  // namespace routes
