#include "http/file_routes.hpp"

#include <httplib.h>
#include <unistd.h>

#include <memory>
#include <regex>

#include "core/encoding.hpp"
#include "sandbox/files.hpp"
#include "sandbox/paths.hpp"

namespace http {
namespace {

constexpr std::size_t kChunk = 1024 * 1024;

void refuse(httplib::Response& response, int status, const std::string& message) {
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

}  // namespace

void mount_file_routes(httplib::Server& server, const sandbox::Workspaces& workspaces,
                       const sandbox::UrlSigner& signer, metrics::Metrics& metrics) {
  // Conversation directories are 32 hex digits; nothing else under the root is served.
  server.Get(R"(/files/([0-9a-f]{32})/(.+))", [&](const httplib::Request& request,
                                                                  httplib::Response& response) {
    const std::string sandbox_name = request.matches[1];
    const std::string path = request.matches[2];
    if (!sandbox::check_relative_path(path).empty()) {
      metrics.file_download("bad_path", 0);
      return refuse(response, 400, "bad file path");
    }
    switch (signer.verify(sandbox_name, path, request.get_param_value("exp"), request.get_param_value("sig"))) {
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
    auto fd = std::make_shared<core::Fd>(std::move(*file));
    response.set_header("Content-Disposition", content_disposition(path));
    response.set_header("X-Content-Type-Options", "nosniff");
    // A file a program wrote must never run as a page of this origin.
    response.set_header("Content-Security-Policy", "default-src 'none'; sandbox");
    response.set_header("Cache-Control", "private, no-cache");
    metrics.file_download("ok", static_cast<std::uint64_t>(size));
    response.set_content_provider(
        static_cast<std::size_t>(size), sandbox::mime_type_for(path),
        // One bounded buffer per download, reused for every chunk; the lease keeps the volume mounted.
        [fd, lease = workspace->lease, buffer = std::make_shared<std::string>()](
            std::size_t offset, std::size_t length, httplib::DataSink& sink) {
          buffer->resize(std::min(length, kChunk));
          const auto got = ::pread(fd->get(), buffer->data(), buffer->size(), static_cast<off_t>(offset));
          // The file shrank under us (a run changed it): end the response rather than send garbage.
          if (got <= 0) return false;
          return sink.write(buffer->data(), static_cast<std::size_t>(got));
        });
  });
}

}  // namespace http
