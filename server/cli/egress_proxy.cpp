#include "cli/egress_proxy.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <spdlog/spdlog.h>
#include <thread>

#include "core/address_policy.hpp"
#include "core/encoding.hpp"
#include "core/fd.hpp"
#include "egress/grant.hpp"
#include "egress/proxy.hpp"
#include "metrics/metrics.hpp"

namespace cli {

namespace {

constexpr int kConfigError = 2;
constexpr int kUnavailable = 3;

// "address:port" -> (address, port); "[v6]:port" too.
bool split_listen(const std::string& text, std::string& address, int& port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  address = text.substr(0, colon);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') address = address.substr(1, address.size() - 2);
  const auto digits = std::string_view(text).substr(colon + 1);
  const auto parsed = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return parsed.ec == std::errc() && parsed.ptr == digits.data() + digits.size() && port >= 0 && port < 65536 &&
         core::parse_ip_address(address).has_value();
}

// The smallest HTTP answerer that serves GET /metrics: the proxy's own process has no HTTP
// server, and its metrics are a handful of counters a scraper reads on the deployment's network.
class MetricsListener {
 public:
  MetricsListener(core::Fd listener, const metrics::Metrics& metrics)
      : m_listener(std::move(listener)), m_thread([this, &metrics] { loop(metrics); }) {}
  ~MetricsListener() {
    m_stopping = true;
    ::shutdown(m_listener.get(), SHUT_RDWR);
    m_thread.join();
  }
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

 private:
  void loop(const metrics::Metrics& metrics) {
    while (!m_stopping) {
      core::Fd client(::accept4(m_listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (client.get() < 0) {
        if (m_stopping || errno == EINVAL || errno == EBADF) return;
        continue;
      }
      std::string head;
      char buffer[1024];
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (head.find("\r\n\r\n") == std::string::npos && head.size() < 8192) {
        const auto ready = core::poll_until(client.get(), POLLIN, deadline);
        if (!ready || *ready == 0) break;
        const auto n = ::recv(client.get(), buffer, sizeof buffer, 0);
        if (n <= 0) break;
        head.append(buffer, static_cast<std::size_t>(n));
      }
      const bool wanted = head.rfind("GET /metrics ", 0) == 0;
      const std::string body = wanted ? metrics.serialize() : "not found\n";
      const std::string response = std::string(wanted ? "HTTP/1.1 200 OK" : "HTTP/1.1 404 Not Found") +
                                   "\r\nContent-Type: text/plain; version=0.0.4\r\nConnection: close\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\n\r\n" + body;
      ::send(client.get(), response.data(), response.size(), MSG_NOSIGNAL);
    }
  }

  core::Fd m_listener;
  std::atomic<bool> m_stopping{false};
  std::thread m_thread;
};

core::Result<core::Fd> listen_tcp(const std::string& address_text, int port) {
  const auto address = core::parse_ip_address(address_text);
  if (!address) return core::fail(core::ErrorKind::invalid_argument, "not an address: " + address_text);
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address->is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&in->sin_addr, address->bytes.data() + 12, 4);
    length = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(port));
    std::memcpy(&in6->sin6_addr, address->bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  core::Fd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd.get() < 0 || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd.get(), 16) != 0) {
    return core::fail(core::ErrorKind::unavailable,
                      "cannot listen on " + address_text + ":" + std::to_string(port) + ": " + std::strerror(errno));
  }
  return fd;
}

}  // namespace

int egress_proxy(const config::Config& config, std::ostream& err) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  egress::ProxyOptions options;
  if (!split_listen(config.egress_listen, options.listen_address, options.port)) {
    err << "configuration: EGRESS_LISTEN must be address:port (got '" << config.egress_listen << "')\n";
    return kConfigError;
  }
  std::vector<core::AddressRange> permitted;
  for (const auto& range : config.egress_permitted_ranges) permitted.push_back(*core::AddressRange::parse(range));
  options.addresses = core::AddressPolicy(std::move(permitted));

  const egress::GrantDirectory grants(config.egress_grants_directory());
  if (auto prepared = grants.prepare(); !prepared) {
    err << "egress-proxy: " << prepared.error().message << "\n";
    return kUnavailable;
  }
  options.find_grant = [&grants](std::string_view run_id) { return grants.find(run_id); };

  metrics::Metrics metrics;
  options.on_decision = [&metrics](const egress::Decision& decision) {
    metrics.egress_decision(decision.policy, decision.allowed, egress::to_string(decision.reason));
    // One line per decision, the request's target as the caller wrote it made printable.
    spdlog::info("egress {} run={} policy={} {} {}:{} reason={}{}{}", decision.allowed ? "allowed" : "denied",
                 decision.run_id.empty() ? "-" : decision.run_id, decision.policy.empty() ? "-" : decision.policy,
                 decision.connect ? "CONNECT" : "HTTP", decision.host, decision.port, egress::to_string(decision.reason),
                 decision.refused_kind ? " address_kind=" + std::string(core::to_string(*decision.refused_kind)) : "",
                 decision.address.empty() ? "" : " address=" + decision.address);
  };

  std::unique_ptr<MetricsListener> metrics_listener;
  if (!config.egress_metrics_listen.empty()) {
    std::string address;
    int port = 0;
    if (!split_listen(config.egress_metrics_listen, address, port)) {
      err << "configuration: EGRESS_METRICS_LISTEN must be address:port (got '" << config.egress_metrics_listen << "')\n";
      return kConfigError;
    }
    auto listener = listen_tcp(address, port);
    if (!listener) {
      err << "egress-proxy: " << listener.error().message << "\n";
      return kUnavailable;
    }
    metrics_listener = std::make_unique<MetricsListener>(std::move(*listener), metrics);
  }

  auto proxy = egress::Proxy::start(std::move(options));
  if (!proxy) {
    err << "egress-proxy: " << proxy.error().message << "\n";
    return kUnavailable;
  }
  spdlog::info("egress proxy listening on {} (grants in {}, {} permitted range(s))", config.egress_listen,
               config.egress_grants_directory(), config.egress_permitted_ranges.size());
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  spdlog::info("signal {}: egress proxy stopping", signal_number);
  (*proxy)->stop();
  return 0;
}

}  // namespace cli
