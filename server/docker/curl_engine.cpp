#include "docker/curl_engine.hpp"

#include <algorithm>
#include <cctype>

#include <spdlog/spdlog.h>

#include "core/encoding.hpp"
#include "docker/api_version.hpp"
#include "docker/docker_host.hpp"
#include "docker/engine_json.hpp"
#include "docker/hijacked_attachment.hpp"
#include "docker/http_client.hpp"

namespace docker {

namespace {

using core::ErrorKind;
using std::chrono::milliseconds;

bool is_success(long status) { return status >= 200 && status < 300; }

// Ids and names go into the URL path unescaped (image names keep their '/' and ':'), so anything
// that could change the path's meaning is refused before it reaches the engine.
core::Result<std::string> container_segment(std::string_view id) {
  const bool valid = !id.empty() && std::isalnum(static_cast<unsigned char>(id.front())) != 0 &&
                     std::all_of(id.begin(), id.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
                     });
  if (!valid) {
    return core::fail(ErrorKind::invalid_argument, "invalid container id or name \"" + std::string(id) + "\"");
  }
  return std::string(id);
}

core::Result<std::string> image_segment(std::string_view name) {
  const bool valid = !name.empty() && name.find("..") == std::string_view::npos && name.front() != '/' &&
                     std::all_of(name.begin(), name.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-' ||
                              c == '/' || c == ':' || c == '@';
                     });
  if (!valid) {
    return core::fail(ErrorKind::invalid_argument, "invalid image name \"" + std::string(name) + "\"");
  }
  return std::string(name);
}

std::string label_query(std::string_view label) {
  return label.empty() ? std::string() : "filters=" + core::percent_encode(engine_json::label_filter(label));
}

class CurlEngine final : public Engine {
 public:
  CurlEngine(std::unique_ptr<HttpClient> client, std::string api_version, milliseconds call_timeout,
             milliseconds ping_timeout)
      : m_client(std::move(client)),
        m_api_version(std::move(api_version)),
        m_call_timeout(call_timeout),
        m_ping_timeout(std::min(ping_timeout, call_timeout)) {}

  core::Result<void> ping() override {
    return call("GET", "/_ping", nullptr, m_ping_timeout).map([](const std::string&) {});
  }

  core::Result<EngineVersion> version() override {
    return call("GET", "/version").and_then(engine_json::parse_version);
  }

  core::Result<EngineInfo> info() override { return call("GET", "/info").and_then(engine_json::parse_info); }

  [[nodiscard]] std::string api_version() const override { return m_api_version; }

  core::Result<std::vector<ImageSummary>> list_images(std::string_view label) override {
    const auto query = label_query(label);
    return call("GET", "/images/json" + (query.empty() ? "" : "?" + query)).and_then(engine_json::parse_image_list);
  }

  core::Result<ImageSummary> inspect_image(std::string_view name) override {
    return image_segment(name)
        .and_then([&](const std::string& image) { return call("GET", "/images/" + image + "/json"); })
        .and_then(engine_json::parse_image_inspect);
  }

  core::Result<std::string> create_container(const ContainerSpec& spec) override {
    const std::string body = engine_json::create_container_body(spec);
    const std::string query = spec.name.empty() ? "" : "?name=" + core::percent_encode(spec.name);
    return call("POST", "/containers/create" + query, &body).and_then(engine_json::parse_created_id);
  }

  core::Result<std::unique_ptr<Attachment>> attach(std::string_view id) override {
    const auto segment = container_segment(id);
    if (!segment) {
      return core::fail(segment.error());
    }
    return open_hijacked_attachment(m_client->host(), m_client->connect_timeout(),
                                    versioned("/containers/" + *segment + "/attach?stream=1&stdin=1&stdout=1&stderr=1"),
                                    Clock::now() + m_call_timeout);
  }

  core::Result<void> start_container(std::string_view id) override {
    // 304 "already started" leaves the container running as asked.
    return call_on(id, "POST", "/start", m_call_timeout, [](const HttpResponse& response) {
      return response.status == 304;
    });
  }

  core::Result<WaitResult> wait_container(std::string_view id, milliseconds timeout) override {
    if (timeout <= milliseconds::zero()) {
      return core::fail(ErrorKind::invalid_argument, "wait timeout must be positive");
    }
    return container_segment(id)
        .and_then([&](const std::string& segment) {
          return call("POST", "/containers/" + segment + "/wait?condition=not-running", nullptr, timeout);
        })
        .and_then(engine_json::parse_wait);
  }

  core::Result<ContainerState> inspect_container(std::string_view id) override {
    return container_segment(id)
        .and_then([&](const std::string& segment) { return call("GET", "/containers/" + segment + "/json"); })
        .and_then(engine_json::parse_container_state);
  }

  core::Result<ContainerStats> container_stats(std::string_view id) override {
    return container_segment(id)
        .and_then([&](const std::string& segment) {
          return call("GET", "/containers/" + segment + "/stats?stream=0&one-shot=1");
        })
        .and_then(engine_json::parse_container_stats);
  }

  core::Result<void> kill_container(std::string_view id) override {
    // A container that already stopped is what a kill wants; the engine calls that a conflict.
    return call_on(id, "POST", "/kill", m_call_timeout, [](const HttpResponse& response) {
      return response.status == 409 && engine_json::error_message(response.body).find("is not running") != std::string::npos;
    });
  }

  core::Result<void> remove_container(std::string_view id) override {
    return call_on(id, "DELETE", "?force=1&v=1", m_call_timeout,
                   [](const HttpResponse& response) { return response.status == 404; });
  }

  core::Result<std::vector<ContainerSummary>> list_containers(std::string_view label) override {
    const auto query = label_query(label);
    return call("GET", "/containers/json?all=1" + (query.empty() ? "" : "&" + query))
        .and_then(engine_json::parse_container_list);
  }

 private:
  [[nodiscard]] std::string versioned(const std::string& path) const { return "/v" + m_api_version + path; }

  /// The body of a 2xx answer to the versioned `path`; any other answer is the engine's error.
  core::Result<std::string> call(std::string_view method, const std::string& path, const std::string* body = nullptr) {
    return call(method, path, body, m_call_timeout);
  }

  core::Result<std::string> call(std::string_view method, const std::string& path, const std::string* body,
                                 milliseconds timeout) {
    auto response = m_client->request(method, versioned(path), body, timeout);
    if (!response) {
      return core::fail(response.error());
    }
    if (!is_success(response->status)) {
      return core::fail(engine_error(response->status, response->body));
    }
    return std::move(response->body);
  }

  /// A bodiless call on /containers/{id}`suffix` that succeeds on 2xx and on answers `also_fine` accepts.
  template <typename AlsoFine>
  core::Result<void> call_on(std::string_view id, std::string_view method, std::string_view suffix,
                             milliseconds timeout, AlsoFine&& also_fine) {
    const auto segment = container_segment(id);
    if (!segment) {
      return core::fail(segment.error());
    }
    const auto response =
        m_client->request(method, versioned("/containers/" + *segment + std::string(suffix)), nullptr, timeout);
    if (!response) {
      return core::fail(response.error());
    }
    if (is_success(response->status) || also_fine(*response)) {
      return {};
    }
    return core::fail(engine_error(response->status, response->body));
  }

  std::unique_ptr<HttpClient> m_client;
  std::string m_api_version;
  milliseconds m_call_timeout;
  milliseconds m_ping_timeout;
};

core::Result<std::string> engine_api_version(HttpClient& client, milliseconds timeout) {
  const auto unreachable = [&](const core::Error& error) {
    return core::Error{ErrorKind::unavailable, "Docker engine at " + client.host().display + " is not usable: " +
                                                   error.message};
  };
  // Unversioned paths are the ones every engine accepts, whatever API versions it speaks.
  const auto ping = client.request("GET", "/_ping", nullptr, timeout);
  if (!ping) {
    return core::fail(ping.error());
  }
  if (!is_success(ping->status)) {
    return core::fail(unreachable(engine_error(ping->status, ping->body)));
  }
  if (!ping->api_version.empty()) {
    return ping->api_version;
  }
  // Engines older than API 1.25 do not send Api-Version on /_ping.
  const auto version = client.request("GET", "/version", nullptr, timeout);
  if (!version) {
    return core::fail(version.error());
  }
  if (!is_success(version->status)) {
    return core::fail(unreachable(engine_error(version->status, version->body)));
  }
  const auto parsed = engine_json::parse_version(version->body);
  if (!parsed) {
    return core::fail(unreachable(parsed.error()));
  }
  return parsed->api_version;
}

}  // namespace

core::Result<std::unique_ptr<Engine>> connect_engine(const EngineOptions& options) {
  if (options.connect_timeout <= milliseconds::zero() || options.call_timeout <= milliseconds::zero() ||
      options.ping_timeout <= milliseconds::zero()) {
    return core::fail(ErrorKind::invalid_argument, "Docker engine timeouts must be positive");
  }
  auto host = parse_docker_host(options.host);
  if (!host) {
    return core::fail(host.error());
  }
  auto client = std::make_unique<HttpClient>(std::move(*host), options.connect_timeout);
  const auto engine_api = engine_api_version(*client, options.call_timeout);
  if (!engine_api) {
    return core::fail(engine_api.error());
  }
  auto api = negotiate_api_version(*engine_api);
  if (!api) {
    return core::fail(api.error().with_context("Docker engine at " + client->host().display));
  }
  spdlog::debug("docker engine at {} speaks API {}, using {}", client->host().display, *engine_api, *api);
  return std::make_unique<CurlEngine>(std::move(client), std::move(*api), options.call_timeout,
                                      options.ping_timeout);
}

}  // namespace docker
