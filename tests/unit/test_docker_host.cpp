#include <catch2/catch.hpp>

#include "docker/docker_host.hpp"

using core::ErrorKind;
using docker::parse_docker_host;

TEST_CASE("docker host: unix sockets") {
  SECTION("an explicit path") {
    const auto host = parse_docker_host("unix:///run/user/1000/docker.sock");
    REQUIRE(host);
    CHECK(host->unix_socket == "/run/user/1000/docker.sock");
    CHECK(host->base_url == "http://localhost");
    CHECK(host->display == "unix:///run/user/1000/docker.sock");
  }
  SECTION("unix:// alone means the default socket") {
    const auto host = parse_docker_host("unix://");
    REQUIRE(host);
    CHECK(host->unix_socket == "/var/run/docker.sock");
  }
  SECTION("an empty endpoint means the default socket") {
    const auto host = parse_docker_host("");
    REQUIRE(host);
    CHECK(host->unix_socket == "/var/run/docker.sock");
    CHECK(host->display == "unix:///var/run/docker.sock");
  }
  SECTION("a relative path is refused") {
    const auto host = parse_docker_host("unix://docker.sock");
    REQUIRE_FALSE(host);
    CHECK(host.error().kind == ErrorKind::invalid_argument);
    CHECK_THAT(host.error().message, Catch::Contains("absolute"));
  }
}

TEST_CASE("docker host: tcp and http") {
  SECTION("tcp://host:port") {
    const auto host = parse_docker_host("tcp://127.0.0.1:2375");
    REQUIRE(host);
    CHECK(host->unix_socket.empty());
    CHECK(host->base_url == "http://127.0.0.1:2375");
  }
  SECTION("http://name:port with a trailing slash") {
    const auto host = parse_docker_host("http://docker-engine.internal:8080/");
    REQUIRE(host);
    CHECK(host->base_url == "http://docker-engine.internal:8080");
  }
  SECTION("no port means Docker's plain-HTTP port") {
    const auto host = parse_docker_host("tcp://engine");
    REQUIRE(host);
    CHECK(host->base_url == "http://engine:2375");
  }
  SECTION("an IPv6 literal") {
    const auto host = parse_docker_host("tcp://[::1]:2375");
    REQUIRE(host);
    CHECK(host->base_url == "http://[::1]:2375");
  }
}

TEST_CASE("docker host: unsupported endpoints are refused with what is supported") {
  const auto [endpoint, reason] = GENERATE(table<const char*, const char*>({
      {"ssh://user@remote", "scheme \"ssh\""},
      {"npipe:////./pipe/docker_engine", "scheme \"npipe\""},
      {"https://engine:2376", "TLS"},
      {"fd://", "scheme \"fd\""},
      {"/var/run/docker.sock", "missing scheme"},
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
