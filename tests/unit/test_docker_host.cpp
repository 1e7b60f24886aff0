#include <catch2/catch.hpp>

#include "docker/docker_host.hpp"

using core::ErrorKind;
using docker::parse_docker_host;

TEST_CASE("docker host: supported endpoints") {
  const auto [endpoint, unix_socket, base_url] = GENERATE(table<const char*, const char*, const char*>({
      {"unix:///run/user/1000/docker.sock", "/run/user/1000/docker.sock", "http://localhost"},
      // unix:// alone, like an empty DOCKER_HOST, means the default socket.
      {"unix://", "/var/run/docker.sock", "http://localhost"},
      {"", "/var/run/docker.sock", "http://localhost"},
      {"tcp://127.0.0.1:2375", "", "http://127.0.0.1:2375"},
      {"http://docker-engine.internal:8080/", "", "http://docker-engine.internal:8080"},
      // No port means Docker's plain-HTTP port.
      {"tcp://engine", "", "http://engine:2375"},
      {"tcp://[::1]:2375", "", "http://[::1]:2375"},
  }));
  CAPTURE(endpoint);
  const auto host = parse_docker_host(endpoint);
  REQUIRE(host);
  CHECK(host->unix_socket == unix_socket);
  CHECK(host->base_url == base_url);
  CHECK(host->display == (*endpoint == '\0' ? "unix:///var/run/docker.sock" : endpoint));
}

TEST_CASE("docker host: unsupported endpoints are refused with what is supported") {
  const auto [endpoint, reason] = GENERATE(table<const char*, const char*>({
      {"ssh://user@remote", "scheme \"ssh\""},
      {"npipe:////./pipe/docker_engine", "scheme \"npipe\""},
      {"https://engine:2376", "TLS"},
      {"fd://", "scheme \"fd\""},
      {"/var/run/docker.sock", "missing scheme"},
      {"unix://docker.sock", "absolute"},
      {"tcp://engine:0", "port"},
      {"tcp://engine:99999", "port"},
      {"tcp://engine:12ab", "port"},
      {"tcp://:2375", "host name"},
      {"tcp://engine:2375/base", "path"},
      {"tcp://user:secret@engine:2375", "credentials"},
      {"tcp://[::1", "IPv6"},
      {"tcp://::1:2375", "host name"},
  }));
  CAPTURE(endpoint);
  const auto host = parse_docker_host(endpoint);
  REQUIRE_FALSE(host);
  CHECK(host.error().kind == ErrorKind::invalid_argument);
  CHECK_THAT(host.error().message, Catch::Contains(reason) && Catch::Contains("supported: unix://"));
}
