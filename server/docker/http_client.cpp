#include "docker/http_client.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "core/encoding.hpp"
#include "docker/curl_handle.hpp"
#include "docker/engine_json.hpp"

namespace docker {

namespace {

using core::ErrorKind;

// Larger answers than this are not something our calls expect (the biggest is a list of containers).
constexpr std::size_t kMaxBody = 32U * 1024U * 1024U;
// Idle connections kept per engine; more threads may call at once, their handles are then closed after use.
constexpr std::size_t kMaxIdleConnections = 8;

struct Transfer {
  HttpResponse response;
  bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (transfer->response.body.size() + bytes > kMaxBody) {
    transfer->too_large = true;
    return 0;  // makes libcurl abort the transfer
  }
  transfer->response.body.append(data, bytes);
  return bytes;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const std::size_t bytes = size * count;
  if (const auto value = header_value(std::string_view(data, bytes), "api-version")) {
    transfer->response.api_version = std::string(*value);
  }
  return bytes;
}

void set_method(CURL* handle, std::string_view method, const std::string* body) {
  if (method == "GET") {
    curl_easy_setopt(handle, CURLOPT_HTTPGET, 1L);
    return;
  }
  // POSTFIELDS with an empty body still sends "Content-Length: 0", which the engine wants on bodiless POSTs.
  static const std::string kEmpty;
  const std::string& payload = body != nullptr ? *body : kEmpty;
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, payload.c_str());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
  if (method != "POST") {
    curl_easy_setopt(handle, CURLOPT_CUSTOMREQUEST, std::string(method).c_str());
  }
}

}  // namespace

core::Error engine_error(long status, std::string_view body) {
  std::string message = engine_json::error_message(body);
  if (message.empty()) {
    message = "the Docker engine answered HTTP " + std::to_string(status);
  }
  switch (status) {
    case 400: return {ErrorKind::invalid_argument, std::move(message)};
    case 404: return {ErrorKind::not_found, std::move(message)};
    case 409: return {ErrorKind::conflict, std::move(message)};
    default: return {ErrorKind::internal, std::move(message)};
  }
}

std::optional<std::string_view> header_value(std::string_view line, std::string_view lower_name) {
  const auto colon = line.find(':');
  if (colon != lower_name.size() ||
      !std::equal(lower_name.begin(), lower_name.end(), line.begin(),
                  [](char lower, char c) { return lower == std::tolower(static_cast<unsigned char>(c)); })) {
    return std::nullopt;
  }
  return core::trim(line.substr(colon + 1));
}

HttpClient::HttpClient(DockerHost host, std::chrono::milliseconds connect_timeout)
    : m_host(std::move(host)),
      m_connect_timeout(connect_timeout),
      m_pool(std::make_unique<curl::EasyPool>(kMaxIdleConnections)) {}

HttpClient::~HttpClient() = default;

core::Result<HttpResponse> HttpClient::request(std::string_view method, const std::string& path,
                                               const std::string* body, std::chrono::milliseconds timeout) {
  const std::string what = std::string(method) + " " + path;
  auto lease = m_pool->acquire();
  CURL* handle = lease.get();
  curl::List headers;
  if (handle == nullptr || !curl::append(headers, "Content-Type: application/json") ||
      !curl::append(headers, "Expect:")) {
    return core::fail(ErrorKind::internal, "out of memory preparing " + what);
  }
  Transfer transfer;
  char error_buffer[CURL_ERROR_SIZE] = {};
  const std::string url = m_host.base_url + path;
  curl::set_connection_options(handle, m_host, static_cast<long>(m_connect_timeout.count()));
  curl_easy_setopt(handle, CURLOPT_URL, url.c_str());
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(handle, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(handle, CURLOPT_HEADERDATA, &transfer);
  set_method(handle, method, body);

  const auto started = std::chrono::steady_clock::now();
  const CURLcode code = curl_easy_perform(handle);
  const auto elapsed_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  // The buffer points into this frame; the handle outlives it in the pool.
  curl_easy_setopt(handle, CURLOPT_ERRORBUFFER, nullptr);

  if (transfer.too_large) {
    return core::fail(ErrorKind::internal,
                      "Docker engine answer to " + what + " is larger than " + std::to_string(kMaxBody) + " bytes");
  }
  if (code != CURLE_OK) {
    lease.discard();
    spdlog::debug("docker {} -> {} after {} ms", what, curl_easy_strerror(code), elapsed_ms);
    return core::fail(curl::transfer_error(code, error_buffer, m_host, what));
  }
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &transfer.response.status);
  spdlog::debug("docker {} -> {} in {} ms", what, transfer.response.status, elapsed_ms);
  return std::move(transfer.response);
}

}  // namespace docker
