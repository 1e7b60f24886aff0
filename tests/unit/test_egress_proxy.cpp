#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "core/encoding.hpp"
#include "core/fd.hpp"
#include "egress/proxy.hpp"
#include "support/temp_dir.hpp"

// The proxy in process, against an upstream on 127.0.0.2 (an address of this machine's
// loopback) that the test permits; names resolve through the test's own table to loopback
// addresses only, so no refusal, failed or not, can send a byte off this machine.

namespace {

constexpr const char* kRunId = "00112233aabbccdd";
constexpr const char* kToken = "a-token-of-enough-length-0123456";

core::Fd listen_on(const char* address, int& port) {
  core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  ::inet_pton(AF_INET, address, &in.sin_addr);
  REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
  REQUIRE(::listen(fd.get(), 16) == 0);
  socklen_t length = sizeof in;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&in), &length);
  port = ntohs(in.sin_port);
  return fd;
}

// An HTTP server that answers every request head with its own head echoed in the body (plus
// `padding` bytes), one request per connection, and counts the connections it saw.
struct Upstream {
  core::Fd listener;
  int port = 0;
  std::size_t padding = 0;
  std::atomic<int> connections{0};
  std::mutex mutex;
  std::string last_head;
  std::thread thread;

  Upstream() {
    listener = listen_on("127.0.0.2", port);
    thread = std::thread([this] {
      while (true) {
        const int fd = ::accept(listener.get(), nullptr, nullptr);
        if (fd < 0) return;
        core::Fd client(fd);
        ++connections;
        std::string head;
        char buffer[4096];
        while (head.find("\r\n\r\n") == std::string::npos) {
          const auto n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          head.append(buffer, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard lock(mutex);
          last_head = head;
        }
        const std::string body = "echo:" + head + std::string(padding, 'x');
        const std::string response =
            "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        ::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
      }
    });
  }
  ~Upstream() {
    ::shutdown(listener.get(), SHUT_RDWR);
    thread.join();
  }
  std::string head() {
    std::lock_guard lock(mutex);
    return last_head;
  }
};

core::Fd dial(int port) {
  core::Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<std::uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
  REQUIRE(::connect(fd.get(), reinterpret_cast<sockaddr*>(&in), sizeof in) == 0);
  timeval timeout{10, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

void send_text(int fd, const std::string& text) { REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size())); }

std::string read_all(int fd) {
  std::string out;
  char buffer[4096];
  while (true) {
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

// Reads until the end of a response head (a CONNECT answer has no body).
std::string read_head(int fd) {
  std::string out;
  char c;
  while (out.find("\r\n\r\n") == std::string::npos && ::recv(fd, &c, 1, 0) == 1) out += c;
  return out;
}

std::string basic(const std::string& user, const std::string& password) {
  return "Proxy-Authorization: Basic " + core::base64_encode(user + ":" + password) + "\r\n";
}

struct Fixture {
  testing::TempDir temp;
  egress::GrantDirectory grants{(temp.path / "grants").string()};
  Upstream upstream;
  std::mutex mutex;
  std::vector<egress::Decision> decisions;
  std::unique_ptr<egress::Proxy> proxy;
  std::map<std::string, std::vector<core::IpAddress>> names;

  explicit Fixture(const std::vector<std::string>& hosts = {"registry.test", "*.files.test"}, std::uint64_t max_bytes = 1 << 20,
                   int max_connections = 4, std::uint64_t bytes_per_second = 0) {
    REQUIRE(grants.prepare());
    put_grant(hosts, max_bytes, max_connections, bytes_per_second);
    const auto here = *core::parse_ip_address("127.0.0.2");
    const auto loopback = *core::parse_ip_address("127.0.0.1");
    names = {{"registry.test", {here}},
             {"a.files.test", {here}},
             {"evil.test", {loopback}},          // the host itself, by name
             {"mixed.test", {here, loopback}}};  // one good address and one that must not be reached
    egress::ProxyOptions options;
    options.listen_address = "127.0.0.1";
    options.port = 0;
    options.addresses = core::AddressPolicy({*core::AddressRange::parse("127.0.0.2/32")});
    options.find_grant = [this](std::string_view run_id) { return grants.find(run_id); };
    options.resolve = [this](const std::string& host) -> core::Result<std::vector<core::IpAddress>> {
      const auto found = names.find(host);
      if (found == names.end()) return core::fail(core::ErrorKind::not_found, "no such name");
      return found->second;
    };
    options.on_decision = [this](const egress::Decision& decision) {
      std::lock_guard lock(mutex);
      decisions.push_back(decision);
    };
    options.idle_timeout = std::chrono::milliseconds(10'000);
    auto started = egress::Proxy::start(std::move(options));
    REQUIRE(started);
    proxy = std::move(*started);
  }

  void put_grant(const std::vector<std::string>& hosts, std::uint64_t max_bytes, int max_connections,
                 std::uint64_t bytes_per_second) {
    egress::Grant grant;
    grant.run_id = kRunId;
    grant.token = kToken;
    grant.policy = hosts == std::vector<std::string>{"*"} ? "open" : "packages";
    grant.hosts = *egress::HostPatterns::parse(hosts);
    grant.ports = {upstream.port};
    grant.max_bytes = max_bytes;
    grant.max_connections = max_connections;
    grant.max_bytes_per_second = bytes_per_second;
    REQUIRE(grants.put(grant));
  }

  // One request through the proxy; the whole answer.
  std::string ask(const std::string& request) {
    auto fd = dial(proxy->port());
    send_text(fd.get(), request);
    return read_all(fd.get());
  }

  std::string get(const std::string& host, const std::string& auth = basic(kRunId, kToken)) {
    return ask("GET http://" + host + ":" + std::to_string(upstream.port) + "/simple/pkg/ HTTP/1.1\r\nHost: " + host +
               "\r\n" + auth + "Proxy-Connection: keep-alive\r\n\r\n");
  }

  egress::Decision last_decision() {
    std::lock_guard lock(mutex);
    REQUIRE_FALSE(decisions.empty());
    return decisions.back();
  }
};

}  // namespace

TEST_CASE("egress proxy: an allowed name is fetched over plain HTTP, origin form, no proxy credentials upstream") {
  Fixture f;
  const auto answer = f.get("registry.test");
  CHECK(answer.rfind("HTTP/1.1 200 OK", 0) == 0);
  const auto head = f.upstream.head();
  CHECK(head.rfind("GET /simple/pkg/ HTTP/1.1\r\n", 0) == 0);
  CHECK(head.find("Host: registry.test:" + std::to_string(f.upstream.port) + "\r\n") != std::string::npos);
  CHECK(head.find("Proxy-Authorization") == std::string::npos);
  CHECK(head.find("Proxy-Connection") == std::string::npos);
  CHECK(head.find("Connection: close\r\n") != std::string::npos);
  const auto decision = f.last_decision();
  CHECK(decision.allowed);
  CHECK(decision.reason == egress::Reason::allowed);
  CHECK(decision.run_id == kRunId);
  CHECK(decision.policy == "packages");
  CHECK(decision.host == "registry.test");
  CHECK(decision.address == "127.0.0.2");
  CHECK_FALSE(decision.connect);
  // A wildcard pattern, and a name in another case with a trailing dot.
  CHECK(f.get("a.files.test").rfind("HTTP/1.1 200 OK", 0) == 0);
  CHECK(f.get("REGISTRY.test.").rfind("HTTP/1.1 200 OK", 0) == 0);
}

TEST_CASE("egress proxy: CONNECT opens a tunnel to an allowed name and carries bytes both ways") {
  Fixture f;
  auto fd = dial(f.proxy->port());
  send_text(fd.get(), "CONNECT registry.test:" + std::to_string(f.upstream.port) + " HTTP/1.1\r\nHost: registry.test\r\n" +
                          basic(kRunId, kToken) + "\r\n");
  CHECK(read_head(fd.get()) == "HTTP/1.1 200 Connection established\r\n\r\n");
  send_text(fd.get(), "GET /through-the-tunnel HTTP/1.1\r\nHost: registry.test\r\n\r\n");
  const auto answer = read_all(fd.get());
  CHECK(answer.find("echo:GET /through-the-tunnel") != std::string::npos);
  CHECK(f.last_decision().connect);
  CHECK(f.last_decision().allowed);
}

TEST_CASE("egress proxy: a caller without valid credentials of a live run is refused with 407") {
  Fixture f;
  CHECK(f.get("registry.test", "").rfind("HTTP/1.1 407", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::no_credentials);
  CHECK(f.get("registry.test", basic(kRunId, "wrong-token-of-enough-length-000")).rfind("HTTP/1.1 407", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::bad_credentials);
  CHECK(f.get("registry.test", basic("ffffffffffffffff", kToken)).rfind("HTTP/1.1 407", 0) == 0);
  CHECK(f.get("registry.test", basic("../grants/x", kToken)).rfind("HTTP/1.1 407", 0) == 0);
  // The run ended: its grant is gone, and so is its way out.
  f.grants.remove(kRunId);
  CHECK(f.get("registry.test").rfind("HTTP/1.1 407", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::bad_credentials);
  CHECK(f.upstream.connections == 0);
}

TEST_CASE("egress proxy: names outside the policy, IP literals in any spelling and other ports are refused") {
  Fixture f;
  const auto port = std::to_string(f.upstream.port);
  for (const char* host : {"other.test", "files.test", "registry.test.evil.test", "127.0.0.2", "2130706434", "0x7f000002",
                           "127.2", "[::ffff:127.0.0.2]", "[::1]"}) {
    INFO(host);
    CHECK(f.get(host).rfind("HTTP/1.1 403", 0) == 0);
    CHECK(f.last_decision().reason == egress::Reason::host_not_allowed);
    auto fd = dial(f.proxy->port());
    send_text(fd.get(), "CONNECT " + std::string(host) + ":" + port + " HTTP/1.1\r\n" + basic(kRunId, kToken) + "\r\n");
    CHECK(read_all(fd.get()).rfind("HTTP/1.1 403", 0) == 0);
  }
  CHECK(f.ask("CONNECT registry.test:22 HTTP/1.1\r\n" + basic(kRunId, kToken) + "\r\n").rfind("HTTP/1.1 403", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::port_not_allowed);
  CHECK(f.upstream.connections == 0);
}

TEST_CASE("egress proxy: an allowed name that resolves to a refused address is refused, even mixed with a good one") {
  Fixture f({"registry.test", "evil.test", "mixed.test", "unknown.test"});
  CHECK(f.get("evil.test").rfind("HTTP/1.1 403", 0) == 0);
  auto decision = f.last_decision();
  CHECK(decision.reason == egress::Reason::address_refused);
  REQUIRE(decision.refused_kind);
  CHECK(*decision.refused_kind == core::AddressKind::loopback);
  CHECK(decision.address == "127.0.0.1");
  CHECK(f.get("mixed.test").rfind("HTTP/1.1 403", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::address_refused);
  CHECK(f.get("unknown.test").rfind("HTTP/1.1 502", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::resolve_failed);
  CHECK(f.upstream.connections == 0);
}

TEST_CASE("egress proxy: under open any public or permitted address is reachable, refused ranges still are not") {
  Fixture f({"*"});
  CHECK(f.get("127.0.0.2").rfind("HTTP/1.1 200", 0) == 0);
  CHECK(f.last_decision().policy == "open");
  CHECK(f.get("127.0.0.1").rfind("HTTP/1.1 403", 0) == 0);
  CHECK(f.last_decision().reason == egress::Reason::address_refused);
  CHECK(f.get("2130706433").rfind("HTTP/1.1 403", 0) == 0);
  CHECK(f.get("evil.test").rfind("HTTP/1.1 403", 0) == 0);
}

TEST_CASE("egress proxy: requests it cannot read exactly are refused") {
  Fixture f;
  const auto auth = basic(kRunId, kToken);
  for (const std::string& request :
       {std::string("GET / HTTP/1.1\r\nHost: registry.test\r\n") + auth + "\r\n",  // origin form: not a proxy request
        "GET https://registry.test/ HTTP/1.1\r\n" + auth + "\r\n",                   // TLS is CONNECT's job
        "GET http://user@registry.test/ HTTP/1.1\r\n" + auth + "\r\n", "CONNECT registry.test HTTP/1.1\r\n" + auth + "\r\n",
        "GET http://registry.test/ HTTP/2.0\r\n" + auth + "\r\n", "GET  http://registry.test/ HTTP/1.1\r\n" + auth + "\r\n",
        "GET http://registry.test/ HTTP/1.1\r\n folded: x\r\n" + auth + "\r\n"}) {
    INFO(request);
    const auto answer = f.ask(request);
    CHECK(answer.rfind("HTTP/1.1 400", 0) == 0);
  }
  // A head larger than the budget.
  CHECK(f.ask("GET http://registry.test/ HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n").rfind("HTTP/1.1 431", 0) == 0);
  CHECK(f.upstream.connections == 0);
}

TEST_CASE("egress proxy: a run's connection cap and byte budget hold") {
  SECTION("connections") {
    Fixture f({"registry.test"}, 1 << 20, 1);
    auto held = dial(f.proxy->port());
    send_text(held.get(), "CONNECT registry.test:" + std::to_string(f.upstream.port) + " HTTP/1.1\r\n" + basic(kRunId, kToken) + "\r\n");
    REQUIRE(read_head(held.get()).rfind("HTTP/1.1 200", 0) == 0);
    CHECK(f.get("registry.test").rfind("HTTP/1.1 429", 0) == 0);
    CHECK(f.last_decision().reason == egress::Reason::too_many_connections);
    held = core::Fd();
  }
  SECTION("bytes") {
    Fixture f({"registry.test"}, 4096, 4);
    f.upstream.padding = 64 * 1024;
    const auto answer = f.get("registry.test");
    CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(answer.size() < 64 * 1024);  // cut off at the budget, not delivered whole
    CHECK(f.last_decision().reason == egress::Reason::byte_budget);
    CHECK(f.get("registry.test").rfind("HTTP/1.1 429", 0) == 0);
    CHECK(f.last_decision().reason == egress::Reason::byte_budget);
  }
}

TEST_CASE("egress proxy: stop closes open tunnels and returns") {
  Fixture f;
  auto held = dial(f.proxy->port());
  send_text(held.get(), "CONNECT registry.test:" + std::to_string(f.upstream.port) + " HTTP/1.1\r\n" + basic(kRunId, kToken) + "\r\n");
  REQUIRE(read_head(held.get()).rfind("HTTP/1.1 200", 0) == 0);
  f.proxy->stop();
  char c;
  CHECK(::recv(held.get(), &c, 1, 0) == 0);  // closed by the proxy, not timed out
}

TEST_CASE("egress proxy: a run's traffic is paced to its rate") {
  // 64 KiB at 128 KiB/s takes at least half a second, however fast the machine; unpaced it takes
  // a few milliseconds on loopback.
  Fixture f({"registry.test"}, 1 << 24, 4, 128 * 1024);
  f.upstream.padding = 64 * 1024;
  const auto started = std::chrono::steady_clock::now();
  const auto answer = f.get("registry.test");
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(answer.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(answer.size() > 64 * 1024);
  CHECK(took >= std::chrono::milliseconds(450));
}
