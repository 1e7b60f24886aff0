// fetch_json and JsonFetcher against a real https server on loopback (tests/outbound/https_server.py,
// with a test CA it makes with openssl), reached through the test origin: the only loopback origin
// the fetcher can be told to allow. No test here sends anything beyond this machine.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "outbound/fetch_json.hpp"
#include "outbound/json_fetcher.hpp"
#include "support/temp_dir.hpp"

using core::ErrorKind;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// The test server, started once for the whole binary (it makes two CAs, which takes a moment).
class LocalHttpsServer {
 public:
  LocalHttpsServer() {
    int out[2];
    REQUIRE(::pipe(out) == 0);
    const std::string script = std::string(MCP_SANDBOX_SOURCE_DIR) + "/tests/outbound/https_server.py";
    const std::string work = m_dir.path.string();
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::close(out[0]);
      ::close(out[1]);
      ::execl(MCP_SANDBOX_PYTHON3, MCP_SANDBOX_PYTHON3, script.c_str(), work.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(out[1]);
    FILE* stream = ::fdopen(out[0], "r");
    REQUIRE(stream != nullptr);
    char line[128] = {};
    const bool ready = std::fgets(line, sizeof line, stream) != nullptr;
    std::fclose(stream);
    INFO("the test https server did not start (python3 with ssl and openssl are needed)");
    REQUIRE(ready);
    REQUIRE(std::sscanf(line, "READY %d %d", &m_port, &m_untrusted_port) == 2);
  }
  ~LocalHttpsServer() {
    ::kill(m_pid, SIGTERM);
    ::waitpid(m_pid, nullptr, 0);
  }
  LocalHttpsServer(const LocalHttpsServer&) = delete;
  LocalHttpsServer& operator=(const LocalHttpsServer&) = delete;

  [[nodiscard]] std::string origin() const { return "https://localhost:" + std::to_string(m_port); }
  [[nodiscard]] std::string untrusted_origin() const { return "https://localhost:" + std::to_string(m_untrusted_port); }
  [[nodiscard]] std::string url(const std::string& path) const { return origin() + path; }
  [[nodiscard]] std::string ca_file() const { return (m_dir.path / "ca.pem").string(); }

  /// Options that allow this server's origin and trust its CA.
  [[nodiscard]] outbound::FetchOptions options() const {
    outbound::FetchOptions options;
    options.test_origin = outbound::TestOrigin{origin(), ca_file()};
    return options;
  }

  /// How often the server was asked for `path` (asked with a URL of its own each time, so no cache).
  int hits(const std::string& path) {
    const auto answer = outbound::fetch_json(url("/hits?path=" + path + "&n=" + std::to_string(++m_queries)), options());
    REQUIRE(answer);
    return answer->body.at("hits").get<int>();
  }

 private:
  testing::TempDir m_dir{"outbound-https-"};
  pid_t m_pid = -1;
  int m_port = 0;
  int m_untrusted_port = 0;
  int m_queries = 0;
};

LocalHttpsServer& server() {
  static LocalHttpsServer instance;
  return instance;
}

template <typename Done>
bool eventually(Done done) {
  const auto deadline = steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST_CASE("outbound https: a client metadata document is fetched from the test origin") {
  auto& local = server();
  const auto document = outbound::fetch_json(local.url("/doc.json"), local.options());
  REQUIRE(document);
  CHECK(document->body.at("client_id") == local.url("/doc.json"));
  CHECK(document->body.at("client_name") == "Test client");
  REQUIRE(document->max_age);
  CHECK(document->max_age->count() == 60);

  const auto typed = outbound::fetch_json(local.url("/typed.json"), local.options());
  REQUIRE(typed);  // application/oauth-client+json is JSON
  CHECK_FALSE(typed->max_age);
  const auto no_store = outbound::fetch_json(local.url("/nostore.json"), local.options());
  REQUIRE(no_store);
  REQUIRE(no_store->max_age);
  CHECK(no_store->max_age->count() == 0);
}

TEST_CASE("outbound https: a URL pointing at loopback is refused when the test origin is off") {
  auto& local = server();
  const int before = local.hits("/doc.json");
  const auto refused = outbound::fetch_json(local.url("/doc.json"), outbound::FetchOptions{});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::invalid_argument);
  // A public-looking name whose DNS answer is this machine (rebinding): refused for its address,
  // before any connection (unchecked, curl would connect and fail only at the certificate's name).
  outbound::FetchOptions rebound;
  rebound.resolver = [](const std::string&) -> core::Result<std::vector<std::string>> {
    return std::vector<std::string>{"127.0.0.1"};
  };
  const std::string port = local.origin().substr(local.origin().rfind(':'));
  const auto rebinding = outbound::fetch_json("https://client.example" + port + "/doc.json", rebound);
  REQUIRE_FALSE(rebinding);
  CHECK(rebinding.error().kind == ErrorKind::invalid_argument);
  CHECK(rebinding.error().message.find("loopback") != std::string::npos);
  // Another origin on this machine is refused even with the test origin on.
  const auto other = outbound::fetch_json(local.untrusted_origin() + "/doc.json", local.options());
  REQUIRE_FALSE(other);
  CHECK(other.error().kind == ErrorKind::invalid_argument);
  CHECK(local.hits("/doc.json") == before);
}

TEST_CASE("outbound https: the server's certificate is verified") {
  auto& local = server();
  outbound::FetchOptions options;
  // The untrusted listener's certificate names localhost but comes from a CA nobody trusts.
  options.test_origin = outbound::TestOrigin{local.untrusted_origin(), local.ca_file()};
  const auto refused = outbound::fetch_json(local.untrusted_origin() + "/doc.json", options);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::unavailable);
  CHECK(refused.error().message.find("certificate") != std::string::npos);
}

TEST_CASE("outbound https: a redirect is refused, not followed") {
  auto& local = server();
  const int before = local.hits("/doc.json");
  const auto refused = outbound::fetch_json(local.url("/redirect"), local.options());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::invalid_argument);
  CHECK(refused.error().message.find("HTTP 302") != std::string::npos);
  CHECK(refused.error().message.find("redirect") != std::string::npos);
  CHECK(local.hits("/doc.json") == before);
}

TEST_CASE("outbound https: a document larger than the cap is refused while it arrives") {
  auto& local = server();
  for (const char* path : {"/huge-length", "/huge-chunked"}) {
    CAPTURE(path);
    const auto refused = outbound::fetch_json(local.url(path), local.options());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::invalid_argument);
    CHECK(refused.error().message.find("larger than 65536 bytes") != std::string::npos);
  }
  auto options = local.options();
  options.limits.max_bytes = 64;  // the document itself is ~130 bytes
  const auto small_cap = outbound::fetch_json(local.url("/doc.json"), options);
  REQUIRE_FALSE(small_cap);
  CHECK(small_cap.error().message.find("larger than 64 bytes") != std::string::npos);
}

TEST_CASE("outbound https: a document that drips in is cut off at the time cap") {
  auto& local = server();
  auto options = local.options();
  options.limits.total = milliseconds(1500);
  const auto started = steady_clock::now();
  const auto refused = outbound::fetch_json(local.url("/drip"), options);
  const auto took = steady_clock::now() - started;
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::timeout);
  CHECK(took >= milliseconds(1400));
  CHECK(took < milliseconds(4000));  // the drip would take a minute
}

TEST_CASE("outbound https: response headers beyond their cap are refused") {
  auto& local = server();
  const auto refused = outbound::fetch_json(local.url("/big-headers"), local.options());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::invalid_argument);
  CHECK(refused.error().message.find("response headers are larger") != std::string::npos);
}

TEST_CASE("outbound https: the request asks for JSON, uncompressed, and names the server") {
  auto& local = server();
  const auto echoed = outbound::fetch_json(local.url("/request-headers"), local.options());
  REQUIRE(echoed);
  const auto& headers = echoed->body;
  CHECK(headers.at("accept") == "application/json");
  CHECK(headers.at("user-agent").get<std::string>().rfind("mcp-sandbox/", 0) == 0);
  CHECK(headers.at("host") == "localhost:" + local.origin().substr(local.origin().rfind(':') + 1));
  // No compression: the size cap counts the bytes as they arrive, so no small body can expand.
  CHECK_FALSE(headers.contains("accept-encoding"));
  CHECK_FALSE(headers.contains("cookie"));
  CHECK_FALSE(headers.contains("authorization"));
}

TEST_CASE("outbound https: proxy variables in the environment do not divert a fetch") {
  auto& local = server();
  // A proxy that does not exist: a fetch that went through it would fail.
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    ::setenv(name, "http://127.0.0.1:9", 1);
  }
  const auto fetched = outbound::fetch_json(local.url("/doc.json"), local.options());
  for (const char* name : {"https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    ::unsetenv(name);
  }
  REQUIRE(fetched);
  CHECK(fetched->body.at("client_id") == local.url("/doc.json"));
}

TEST_CASE("outbound https: answers that are not a JSON object are refused") {
  auto& local = server();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/text", "content type is 'text/html'"},
      {"/invalid", "not valid JSON"},
      {"/array", "not a JSON object"},
      {"/missing", "HTTP 404"},
  };
  for (const auto& [path, why] : cases) {
    CAPTURE(path);
    const auto refused = outbound::fetch_json(local.url(path), local.options());
    REQUIRE_FALSE(refused);
    CHECK(refused.error().kind == ErrorKind::invalid_argument);
    CHECK(refused.error().message.find(why) != std::string::npos);
  }
}

TEST_CASE("outbound https: the cache serves a second request without a second fetch") {
  auto& local = server();
  outbound::JsonFetcher::Options options;
  options.fetch = local.options();
  outbound::JsonFetcher fetcher(options);
  const int before = local.hits("/doc.json");
  for (int i = 0; i < 3; ++i) {
    const auto document = fetcher.fetch(local.url("/doc.json"));
    REQUIRE(document);
    CHECK(document->at("client_id") == local.url("/doc.json"));
  }
  CHECK(local.hits("/doc.json") == before + 1);
  // A failure is remembered too (for failure_ttl): a flood of a bad URL reaches the server once.
  const int text_before = local.hits("/text");
  CHECK_FALSE(fetcher.fetch(local.url("/text")));
  CHECK_FALSE(fetcher.fetch(local.url("/text")));
  CHECK(local.hits("/text") == text_before + 1);
}

TEST_CASE("outbound https: concurrent fetches of one URL reach the server once") {
  auto& local = server();
  outbound::JsonFetcher::Options options;
  options.fetch = local.options();
  outbound::JsonFetcher fetcher(options);
  constexpr int kCallers = 6;
  std::vector<std::future<core::Result<nlohmann::json>>> results;
  for (int i = 0; i < kCallers; ++i) {
    results.push_back(std::async(std::launch::async, [&] { return fetcher.fetch(local.url("/held")); }));
  }
  // Every caller is either the one fetch or waiting for it; then the server may answer.
  REQUIRE(eventually([&] { return fetcher.in_flight() == 1 && fetcher.waiting() == kCallers - 1; }));
  REQUIRE(eventually([&] { return local.hits("/held") == 1; }));
  REQUIRE(outbound::fetch_json(local.url("/release"), local.options()));
  for (auto& result : results) {
    const auto document = result.get();
    REQUIRE(document);
    CHECK(document->at("client_id") == local.url("/held"));
  }
  CHECK(local.hits("/held") == 1);
}
