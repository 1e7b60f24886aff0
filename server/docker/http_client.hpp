#pragma once

// Internal to the docker module: plain HTTP calls to the engine, without knowing any endpoint.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "docker/docker_host.hpp"

namespace docker {

namespace curl {
class EasyPool;
}

/// An engine answer of any HTTP status.
struct HttpResponse {
  long status = 0;
  std::string body;
  std::string api_version;  ///< the Api-Version header, when the engine sent one
};

/// The error for an engine answer that is not a success: 400 `invalid_argument`, 404 `not_found`,
/// 409 `conflict`, anything else `internal`, carrying the engine's own message.
core::Error engine_error(long status, std::string_view body);

/// The trimmed value of `line` ("Name: value\r\n") when its name is `lower_name` (compared
/// case-insensitively; give it in lower case); nullopt for any other header.
std::optional<std::string_view> header_value(std::string_view line, std::string_view lower_name);

/// Sends requests to one engine over a pool of reusable connections; safe to use from several threads.
class HttpClient {
 public:
  /// A client for `host`; no connection is made until the first request.
  HttpClient(DockerHost host, std::chrono::milliseconds connect_timeout);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Sends `method` `path` (with `body` as JSON when given) and returns whatever status the engine answered;
  /// only transport failures are errors (see curl::transfer_error), and the whole call ends by `timeout`.
  core::Result<HttpResponse> request(std::string_view method, const std::string& path, const std::string* body,
                                     std::chrono::milliseconds timeout);

  /// The engine this client talks to.
  [[nodiscard]] const DockerHost& host() const { return m_host; }
  /// The connect timeout every connection uses.
  [[nodiscard]] std::chrono::milliseconds connect_timeout() const { return m_connect_timeout; }

 private:
  DockerHost m_host;
  std::chrono::milliseconds m_connect_timeout;
  std::unique_ptr<curl::EasyPool> m_pool;
};

}  // namespace docker
