#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "http/server.hpp"

using namespace std::chrono_literals;

TEST_CASE("http server: an idle keep-alive connection holds a worker for seconds, not minutes") {
  CHECK(http::ServerOptions{}.connections.idle_timeout <= 5s);
}

TEST_CASE("http server: stop() returns while a client keeps an idle keep-alive connection open") {
  metrics::Metrics metrics;
  http::ServerOptions options;
  options.address = "127.0.0.1:0";
  options.connections.idle_timeout = 1s;
  http::Server server(options, metrics);
  server.route("GET", "/ping", [](http::Request&, http::Response& response) {
    response.set_content("pong", "text/plain");
  });
  REQUIRE(server.bind());
  std::thread serving([&server] { server.run(); });  // bound already: a connect queues until it accepts

  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(client >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(server.port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  const std::string request = "GET /ping HTTP/1.1\r\nHost: test\r\n\r\n";
  REQUIRE(::write(client, request.data(), request.size()) == static_cast<ssize_t>(request.size()));
  char reply[512];
  REQUIRE(::read(client, reply, sizeof(reply)) > 0);  // answered; the connection stays open and idle

  const auto stopping = std::chrono::steady_clock::now();
  server.stop();
  serving.join();
  CHECK(std::chrono::steady_clock::now() - stopping < 3s);
  ::close(client);
}

