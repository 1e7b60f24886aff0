#include "routes/file_routes.hpp"

#include <memory>

#include "core/encoding.hpp"
#include "core/fd.hpp"
#include "http/url.hpp"
#include "sandbox/files.hpp"
#include "sandbox/paths.hpp"

namespace routes {
namespace {

constexpr std::string_view kPrefix = "/files/";
constexpr std::size_t kSandboxNameLength = 32;

void refuse(http::Response& response, int status, const std::string& message) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(message + "\n", "text/plain; charset=utf-8");
}

// RFC 6266: a plain ASCII fallback plus the exact UTF-8 name.
std::string content_disposition(const std::string& path) {
  const auto slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string ascii;
  for (unsigned char c : name) ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + core::percent_encode(name);
}

bool is_sandbox_name(std::string_view name) {
  return name.size() == kSandboxNameLength && name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  RangeRequest whole;
  if (header.substr(0, 6) != "bytes=") return whole;
  const auto spec = header.substr(6);
  // Several ranges could ask for the same bytes many times over: the whole file, once, instead.
  if (spec.find(',') != std::string_view::npos) return whole;
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return whole;
  const auto first_text = spec.substr(0, dash);
  const auto last_text = spec.substr(dash + 1);
  RangeRequest ranged;
  ranged.whole = false;
  if (first_text.empty()) {  // bytes=-N: the last N bytes
    const auto suffix = http::parse_decimal(last_text);
    if (!suffix) return whole;
    if (*suffix == 0 || size == 0) {
      ranged.satisfiable = false;
      return ranged;
    }
    const auto length = std::min(*suffix, size);
    ranged.range = ByteRange{size - length, length};
    return ranged;
  }
  const auto first = http::parse_decimal(first_text);
  if (!first) return whole;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!last_text.empty()) {
    const auto parsed = http::parse_decimal(last_text);
    if (!parsed || *parsed < *first) return whole;
    last = std::min(*parsed, last);
  }
  if (*first >= size) {
    ranged.satisfiable = false;
    return ranged;
  }
  ranged.range = ByteRange{*first, last - *first + 1};
  return ranged;
}

void mount_file_routes(http::Router& routes, const sandbox::Workspaces& workspaces, const sandbox::UrlSigner& signer,
                       metrics::Metrics& metrics) {
  routes.add_prefix("GET", std::string(kPrefix), [&](http::Request& request, http::Response& response) {
    // /files/<32 hex digits>/<percent-encoded path>: conversation directories only.
    const auto rest = std::string_view(request.path()).substr(kPrefix.size());
    const std::string sandbox_name(rest.substr(0, kSandboxNameLength));
    const auto encoded = rest.size() > kSandboxNameLength + 1 && rest[kSandboxNameLength] == '/'
                             ? rest.substr(kSandboxNameLength + 1)
                             : std::string_view();
    const auto decoded = core::percent_decode(encoded);
    if (!is_sandbox_name(sandbox_name) || !decoded || decoded->empty()) {
      metrics.file_download("bad_path", 0);
      return refuse(response, 404, "no such file");
    }
    const std::string& path = *decoded;
    if (!sandbox::check_relative_path(path).empty()) {
      metrics.file_download("bad_path", 0);
      return refuse(response, 400, "bad file path");
    }
    switch (signer.verify(sandbox_name, path, request.query_param("exp"), request.query_param("sig"))) {
      case sandbox::UrlSigner::Verdict::valid: break;
      case sandbox::UrlSigner::Verdict::expired:
        metrics.file_download("expired", 0);
        return refuse(response, 410, "this download link has expired; ask for a fresh one");
      case sandbox::UrlSigner::Verdict::bad_signature:
        metrics.file_download("forbidden", 0);
        return refuse(response, 403, "invalid download link");
    }
    std::int64_t size = 0;
    // Through Workspaces: an idle conversation's volume is mounted again, and
    // the lease keeps it from being swept while the response streams.
    auto workspace = workspaces.open_existing(sandbox_name);
    auto file = workspace ? sandbox::SandboxFiles(workspace->server_path).open_regular(path, size)
                          : core::Result<core::Fd>(core::fail(workspace.error()));
    if (!file) {
      metrics.file_download("not_found", 0);
      return refuse(response, 404, "no such file");
    }
    const auto file_size = static_cast<std::uint64_t>(size);
    auto range = parse_range(request.header("Range"), file_size);
    response.set_header("Accept-Ranges", "bytes");
    if (!range.whole && !range.satisfiable) {
      metrics.file_download("bad_range", 0);
      response.set_header("Content-Range", "bytes */" + std::to_string(file_size));
      return refuse(response, 416, "the range asked for is outside the file");
    }
    const ByteRange part = range.whole ? ByteRange{0, file_size} : range.range;
    if (!range.whole) {
      response.status = 206;
      response.set_header("Content-Range", "bytes " + std::to_string(part.first) + "-" +
                                               std::to_string(part.first + part.length - 1) + "/" +
                                               std::to_string(file_size));
    }
    response.set_header("Content-Type", sandbox::mime_type_for(path));
    response.set_header("Content-Disposition", content_disposition(path));
    response.set_header("X-Content-Type-Options", "nosniff");
    // A file a program wrote must never run as a page of this origin.
    response.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
    response.set_header("Cache-Control", "private, no-cache");
    metrics.file_download("ok", part.length);
    response.stream_length = part.length;
    // From the descriptor open_regular checked (a regular file inside the conversation, reached
    // without following links) straight to the socket; the lease keeps the volume mounted until
    // the stream ends. A file that shrank under us (a run changed it) ends the response early.
    response.stream = [fd = std::make_shared<core::Fd>(std::move(*file)), lease = workspace->lease,
                       part](http::BodyWriter& out) { (void)out.write_file(fd->get(), part.first, part.length); };
  });
}

}  // namespace routes
