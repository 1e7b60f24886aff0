#include "egress/proxy.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/encoding.hpp"
#include "core/fd.hpp"

namespace egress {

namespace {

constexpr std::size_t kMaxHeadBytes = 16 * 1024;
constexpr std::size_t kMaxHeaders = 100;
constexpr std::size_t kRelayChunk = 64 * 1024;

using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const std::size_t n = std::max(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void reply(int fd, int status, std::string_view reason_phrase, std::string_view message, bool ask_credentials = false) {
  std::string response = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase) + "\r\n";
  if (ask_credentials) response += "Proxy-Authenticate: Basic realm=\"mcp-sandbox egress\"\r\n";
  const std::string body = "mcp-sandbox egress: " + std::string(message) + "\n";
  response += "Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " +
              std::to_string(body.size()) + "\r\n\r\n" + body;
  send_all(fd, response);
}

struct Header {
  std::string name;
  std::string value;
};

struct Head {
  std::string method;
  std::string target;
  std::string version;
  std::vector<Header> headers;
};

// Strict enough for a proxy that forwards to one checked host: a request line of three
// parts, header lines "name: value" with no obsolete folding, CRLF or LF line ends.
std::optional<Head> parse_head(std::string_view text) {
  Head head;
  bool first = true;
  while (!text.empty()) {
    auto end = text.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    auto line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    for (const char c : line) {
      if (c == '\0' || c == '\r') return std::nullopt;
    }
    if (first) {
      first = false;
      const auto a = line.find(' ');
      const auto b = a == std::string_view::npos ? a : line.find(' ', a + 1);
      if (b == std::string_view::npos || line.find(' ', b + 1) != std::string_view::npos) return std::nullopt;
      head.method = std::string(line.substr(0, a));
      head.target = std::string(line.substr(a + 1, b - a - 1));
      head.version = std::string(line.substr(b + 1));
      if (head.method.empty() || head.target.empty() || (head.version != "HTTP/1.1" && head.version != "HTTP/1.0")) {
        return std::nullopt;
      }
      for (const char c : head.method) {
        if (!(c >= 'A' && c <= 'Z')) return std::nullopt;
      }
      continue;
    }
    if (line.front() == ' ' || line.front() == '\t') return std::nullopt;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    const auto name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return std::nullopt;
    if (head.headers.size() == kMaxHeaders) return std::nullopt;
    head.headers.push_back({std::string(name), std::string(core::trim(line.substr(colon + 1)))});
  }
  if (first) return std::nullopt;
  return head;
}

// "host:port" or "[v6]:port"; the default port when `default_port` > 0 and none is given.
bool split_authority(std::string_view authority, int default_port, std::string& host, int& port) {
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(authority.substr(0, close + 1));
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port_text = rest.substr(1);
    }
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = std::string(authority.substr(0, colon));
      port_text = authority.substr(colon + 1);
    } else {
      host = std::string(authority);
    }
  }
  if (host.empty() || host.find_first_of("@/?#% ") != std::string::npos) return false;
  if (port_text.empty()) {
    if (default_port <= 0) return false;
    port = default_port;
    return true;
  }
  const auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  return parsed.ec == std::errc() && parsed.ptr == port_text.data() + port_text.size() && port > 0 && port < 65536;
}

struct RunUsage {
  int open = 0;
  std::uint64_t bytes = 0;
  std::chrono::steady_clock::time_point paced_until{};  ///< when the bytes passed so far have been "paid for"
};

}  // namespace

std::string_view to_string(Reason reason) {
  switch (reason) {
    case Reason::allowed: return "allowed";
    case Reason::no_credentials: return "no_credentials";
    case Reason::bad_credentials: return "bad_credentials";
    case Reason::malformed_request: return "malformed_request";
    case Reason::host_not_allowed: return "host_not_allowed";
    case Reason::port_not_allowed: return "port_not_allowed";
    case Reason::address_refused: return "address_refused";
    case Reason::resolve_failed: return "resolve_failed";
    case Reason::connect_failed: return "connect_failed";
    case Reason::too_many_connections: return "too_many_connections";
    case Reason::byte_budget: return "byte_budget";
  }
  return "malformed_request";
}

Resolver system_resolver() {
  return [](const std::string& host) -> core::Result<std::vector<core::IpAddress>> {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (rc != 0) return core::fail(core::ErrorKind::not_found, ::gai_strerror(rc));
    std::vector<core::IpAddress> addresses;
    for (auto* entry = found; entry != nullptr; entry = entry->ai_next) {
      core::IpAddress address;
      if (entry->ai_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(entry->ai_addr);
        address.bytes[10] = 0xff;
        address.bytes[11] = 0xff;
        std::memcpy(address.bytes.data() + 12, &in->sin_addr, 4);
      } else if (entry->ai_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(entry->ai_addr);
        std::memcpy(address.bytes.data(), &in6->sin6_addr, 16);
      } else {
        continue;
      }
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) addresses.push_back(address);
    }
    ::freeaddrinfo(found);
    if (addresses.empty()) return core::fail(core::ErrorKind::not_found, "no address");
    return addresses;
  };
}

struct Proxy::State {
  ProxyOptions options;
  core::Fd listener;
  int port = 0;
  std::thread acceptor;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable idle;
  std::condition_variable paced;  ///< woken only by stop(): paced connections wait on it
  std::set<int> clients;  ///< client and upstream descriptors, shut down on stop
  int threads = 0;
  std::map<std::string, RunUsage, std::less<>> usage;

  void decide(Decision& decision, bool allowed, Reason reason) {
    decision.allowed = allowed;
    decision.reason = reason;
    if (options.on_decision) options.on_decision(decision);
  }

  // Usage is kept per run for as long as the run can still connect; runs whose grant is gone
  // and that have nothing open are forgotten once many have gathered. Called under `mutex`.
  void prune_finished_runs() {
    if (usage.size() < 1024) return;
    for (auto it = usage.begin(); it != usage.end();) {
      const bool finished = it->second.open == 0 && (!options.find_grant || !options.find_grant(it->first));
      it = finished ? usage.erase(it) : std::next(it);
    }
  }

  void track(int fd) {
    std::lock_guard lock(mutex);
    clients.insert(fd);
  }
  void untrack(int fd) {
    std::lock_guard lock(mutex);
    clients.erase(fd);
  }

  core::Result<core::Fd> connect_to(const core::IpAddress& address, int port_number) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET6;
    if (address.is_v4()) {
      auto* in = reinterpret_cast<sockaddr_in*>(&storage);
      in->sin_family = AF_INET;
      in->sin_port = htons(static_cast<std::uint16_t>(port_number));
      std::memcpy(&in->sin_addr, address.bytes.data() + 12, 4);
      length = sizeof(sockaddr_in);
      family = AF_INET;
    } else {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(static_cast<std::uint16_t>(port_number));
      std::memcpy(&in6->sin6_addr, address.bytes.data(), 16);
      length = sizeof(sockaddr_in6);
    }
    core::Fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return core::fail(core::ErrorKind::unavailable, std::strerror(errno));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 && errno != EINPROGRESS) {
      return core::fail(core::ErrorKind::unavailable, std::strerror(errno));
    }
    const auto ready = core::poll_until(fd.get(), POLLOUT, Clock::now() + options.connect_timeout);
    if (!ready) return core::fail(ready.error());
    if (*ready == 0) return core::fail(core::ErrorKind::timeout, "connect timed out");
    int error = 0;
    socklen_t error_length = sizeof error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &error_length);
    if (error != 0) return core::fail(core::ErrorKind::unavailable, std::strerror(error));
    return fd;
  }

  // Copies bytes both ways until both sides are done, the idle timeout passes or the run's
  // byte cap is reached (then it returns false).
  // Holds the connection until the run's bytes so far fit its rate: every byte passed books
  // 1/rate seconds on one clock shared by all of the run's connections.
  void pace(const std::string& run_id, std::size_t bytes, std::uint64_t bytes_per_second) {
    if (bytes_per_second == 0 || bytes == 0) return;
    Clock::time_point until;
    {
      std::lock_guard lock(mutex);
      auto& used = usage[run_id];
      const auto now = Clock::now();
      if (used.paced_until < now) used.paced_until = now;
      used.paced_until += std::chrono::nanoseconds(static_cast<std::int64_t>(
          static_cast<double>(bytes) * 1e9 / static_cast<double>(bytes_per_second)));
      until = used.paced_until;
    }
    std::unique_lock lock(mutex);
    paced.wait_until(lock, until, [this] { return stopping.load(); });
  }

  bool relay(int client, int upstream, const std::string& run_id, std::uint64_t max_bytes,
             std::uint64_t bytes_per_second) {
    bool client_open = true;
    bool upstream_open = true;
    std::string buffer(kRelayChunk, '\0');
    while ((client_open || upstream_open) && !stopping) {
      pollfd fds[2] = {{client, static_cast<short>(client_open ? POLLIN : 0), 0},
                       {upstream, static_cast<short>(upstream_open ? POLLIN : 0), 0}};
      const int ready = ::poll(fds, 2, static_cast<int>(options.idle_timeout.count()));
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return true;
      for (int side = 0; side < 2; ++side) {
        if (fds[side].revents == 0) continue;
        const int from = side == 0 ? client : upstream;
        const int to = side == 0 ? upstream : client;
        const auto n = ::recv(from, buffer.data(), buffer.size(), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) {
          // One side finished sending: pass the half-close on and keep reading the other.
          ::shutdown(to, SHUT_WR);
          (side == 0 ? client_open : upstream_open) = false;
          if (n < 0) return true;
          continue;
        }
        // What is left of the run's budget is passed on, then the connection is cut.
        std::size_t pass = static_cast<std::size_t>(n);
        {
          std::lock_guard lock(mutex);
          auto& used = usage[run_id].bytes;
          const std::uint64_t left = used >= max_bytes ? 0 : max_bytes - used;
          if (pass > left) pass = static_cast<std::size_t>(left);
          used += pass;
        }
        const bool cut = pass < static_cast<std::size_t>(n);
        if (!send_all(to, std::string_view(buffer.data(), pass))) return !cut;
        if (cut) return false;
        pace(run_id, pass, bytes_per_second);
      }
    }
    return true;
  }

  void serve(core::Fd client) {
    const int fd = client.get();
    // Read the head within its deadline and byte budget.
    std::string data;
    const auto deadline = Clock::now() + options.head_timeout;
    std::size_t head_end = std::string::npos;
    while (head_end == std::string::npos) {
      if (data.size() >= kMaxHeadBytes) return reply(fd, 431, "Request Header Fields Too Large", "request head too large");
      const auto ready = core::poll_until(fd, POLLIN, deadline);
      if (!ready || *ready == 0 || stopping) return;
      char chunk[4096];
      const auto n = ::recv(fd, chunk, std::min(sizeof chunk, kMaxHeadBytes - data.size()), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.append(chunk, static_cast<std::size_t>(n));
      head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        head_end += 4;
      } else if (const auto lf = data.find("\n\n"); lf != std::string::npos) {
        head_end = lf + 2;
      }
    }
    Decision decision;
    const auto head = parse_head(std::string_view(data).substr(0, head_end));
    if (!head) {
      decide(decision, false, Reason::malformed_request);
      return reply(fd, 400, "Bad Request", "malformed request");
    }
    decision.connect = head->method == "CONNECT";

    // Who is asking.
    std::string user;
    std::string password;
    for (const auto& header : head->headers) {
      if (!iequals(header.name, "Proxy-Authorization")) continue;
      const std::string_view value = header.value;
      if (value.size() < 6 || !iequals(value.substr(0, 6), "Basic ")) continue;
      const auto decoded = core::base64_decode(core::trim(value.substr(6)));
      if (!decoded) continue;
      const auto colon = decoded->find(':');
      if (colon == std::string::npos) continue;
      user = decoded->substr(0, colon);
      password = decoded->substr(colon + 1);
    }
    // The target, before credentials are judged, so the log line says what was asked.
    std::string host;
    int port_number = 0;
    std::string origin_form;
    bool target_ok = false;
    if (decision.connect) {
      target_ok = split_authority(head->target, 0, host, port_number);
    } else if (head->target.rfind("http://", 0) == 0) {
      const std::string_view rest = std::string_view(head->target).substr(7);
      const auto slash = rest.find_first_of("/?");
      origin_form = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
      if (!origin_form.empty() && origin_form.front() == '?') origin_form.insert(0, "/");
      target_ok = split_authority(rest.substr(0, slash), 80, host, port_number);
    }
    decision.host = core::printable(host.empty() ? head->target : host, 255);
    decision.port = port_number;
    if (user.empty()) {
      decide(decision, false, Reason::no_credentials);
      return reply(fd, 407, "Proxy Authentication Required", "this proxy serves sandbox runs only", true);
    }
    decision.run_id = core::printable(user, 64);
    const auto grant = options.find_grant ? options.find_grant(user) : std::nullopt;
    if (!grant || !constant_time_equal(password, grant->token)) {
      decide(decision, false, Reason::bad_credentials);
      return reply(fd, 407, "Proxy Authentication Required", "unknown or finished run", true);
    }
    decision.policy = grant->policy;
    if (!target_ok) {
      decide(decision, false, Reason::malformed_request);
      return reply(fd, 400, "Bad Request", "only CONNECT host:port and http:// requests are proxied");
    }

    // What the policy says about the name and port.
    std::vector<core::IpAddress> addresses;
    if (const auto literal = core::parse_host_as_address(host)) {
      // An address written by the caller matches no host name; only `open` takes literals.
      if (!grant->hosts.any()) {
        decide(decision, false, Reason::host_not_allowed);
        return reply(fd, 403, "Forbidden", host + " is an address; the run's policy allows only named hosts");
      }
      addresses.push_back(*literal);
    } else {
      const auto name = normalise_host(host);
      if (!name) {
        decide(decision, false, Reason::malformed_request);
        return reply(fd, 400, "Bad Request", "not a host name");
      }
      host = *name;
      decision.host = host;
      if (!grant->hosts.matches(host)) {
        decide(decision, false, Reason::host_not_allowed);
        return reply(fd, 403, "Forbidden", host + " is not allowed by the run's egress policy (" + grant->policy + ")");
      }
    }
    if (std::find(grant->ports.begin(), grant->ports.end(), port_number) == grant->ports.end()) {
      decide(decision, false, Reason::port_not_allowed);
      return reply(fd, 403, "Forbidden", "port " + std::to_string(port_number) + " is not allowed by the run's egress policy");
    }
    if (addresses.empty()) {
      auto resolved = options.resolve(host);
      if (!resolved) {
        decide(decision, false, Reason::resolve_failed);
        return reply(fd, 502, "Bad Gateway", host + " has no address");
      }
      addresses = std::move(*resolved);
    }
    // Every address must pass: a name that resolves to one public and one private address is
    // refused whole, so an attacker's DNS cannot mix an internal address into a good answer.
    for (const auto& address : addresses) {
      const auto verdict = options.addresses.check(address);
      if (!verdict.allowed) {
        decision.refused_kind = verdict.kind;
        decision.address = address.to_string();
        decide(decision, false, Reason::address_refused);
        return reply(fd, 403, "Forbidden",
                     host + " resolves to a " + std::string(core::to_string(verdict.kind)) + " address, which runs may not reach");
      }
    }

    // The run's connection and byte caps.
    bool admitted = false;
    {
      std::lock_guard lock(mutex);
      prune_finished_runs();
      auto& used = usage[grant->run_id];
      if (used.bytes >= grant->max_bytes) {
        admitted = false;
      } else if (used.open < grant->max_connections) {
        ++used.open;
        admitted = true;
      }
    }
    if (!admitted) {
      const bool over_bytes = [&] {
        std::lock_guard lock(mutex);
        return usage[grant->run_id].bytes >= grant->max_bytes;
      }();
      decide(decision, false, over_bytes ? Reason::byte_budget : Reason::too_many_connections);
      return reply(fd, 429, "Too Many Requests",
                   over_bytes ? "the run's egress byte budget is used up" : "the run has too many connections open");
    }
    struct Release {
      State* state;
      std::string run_id;
      ~Release() {
        std::lock_guard lock(state->mutex);
        --state->usage[run_id].open;
      }
    } release{this, grant->run_id};

    core::Fd upstream;
    for (const auto& address : addresses) {
      auto connected = connect_to(address, port_number);
      if (connected) {
        upstream = std::move(*connected);
        decision.address = address.to_string();
        break;
      }
    }
    if (upstream.get() < 0) {
      decide(decision, false, Reason::connect_failed);
      return reply(fd, 502, "Bad Gateway", "could not connect to " + host);
    }
    // Blocking from here on: the relay polls before every read.
    const int flags = ::fcntl(upstream.get(), F_GETFL);
    ::fcntl(upstream.get(), F_SETFL, flags & ~O_NONBLOCK);
    decide(decision, true, Reason::allowed);
    track(upstream.get());

    const std::string_view leftover = std::string_view(data).substr(head_end);
    bool sent = false;
    if (decision.connect) {
      sent = send_all(fd, "HTTP/1.1 200 Connection established\r\n\r\n") && send_all(upstream.get(), leftover);
    } else {
      // The origin server gets the origin form, its own Host, and no proxy credentials; one
      // request per connection, so a second request on it cannot name another host.
      std::string forwarded = head->method + " " + origin_form + " HTTP/1.1\r\n";
      const bool default_port = port_number == 80;
      forwarded += "Host: " + host + (default_port ? "" : ":" + std::to_string(port_number)) + "\r\n";
      for (const auto& header : head->headers) {
        if (iequals(header.name, "Host") || iequals(header.name, "Proxy-Authorization") ||
            iequals(header.name, "Proxy-Connection") || iequals(header.name, "Connection") ||
            iequals(header.name, "Keep-Alive")) {
          continue;
        }
        forwarded += header.name + ": " + header.value + "\r\n";
      }
      forwarded += "Connection: close\r\n\r\n";
      sent = send_all(upstream.get(), forwarded) && send_all(upstream.get(), leftover);
    }
    bool within_budget = true;
    if (sent) within_budget = relay(fd, upstream.get(), grant->run_id, grant->max_bytes, grant->max_bytes_per_second);
    untrack(upstream.get());
    if (!within_budget) {
      Decision over = decision;
      decide(over, false, Reason::byte_budget);
    }
  }

  void accept_loop() {
    while (!stopping) {
      const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping) break;
        if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
        break;
      }
      core::Fd client(fd);
      std::unique_lock lock(mutex);
      if (threads >= options.max_clients) {
        lock.unlock();
        reply(fd, 503, "Service Unavailable", "too many connections");
        continue;
      }
      ++threads;
      clients.insert(fd);
      lock.unlock();
      std::thread([this, owned = std::move(client)]() mutable {
        const int descriptor = owned.get();
        serve(std::move(owned));
        std::lock_guard guard(mutex);
        clients.erase(descriptor);
        if (--threads == 0) idle.notify_all();
      }).detach();
    }
  }
};

Proxy::Proxy(std::shared_ptr<State> state) : m_state(std::move(state)) {}

Proxy::~Proxy() { stop(); }

int Proxy::port() const { return m_state->port; }

core::Result<std::unique_ptr<Proxy>> Proxy::start(ProxyOptions options) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  const auto address = core::parse_ip_address(state->options.listen_address);
  if (!address) return core::fail(core::ErrorKind::invalid_argument, "not a listen address: " + state->options.listen_address);
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = AF_INET6;
  if (address->is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<std::uint16_t>(state->options.port));
    std::memcpy(&in->sin_addr, address->bytes.data() + 12, 4);
    length = sizeof(sockaddr_in);
    family = AF_INET;
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<std::uint16_t>(state->options.port));
    std::memcpy(&in6->sin6_addr, address->bytes.data(), 16);
    length = sizeof(sockaddr_in6);
  }
  state->listener = core::Fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (state->listener.get() < 0) return core::fail(core::ErrorKind::unavailable, std::strerror(errno));
  const int one = 1;
  ::setsockopt(state->listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(state->listener.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      ::listen(state->listener.get(), 128) != 0) {
    return core::fail(core::ErrorKind::unavailable, "cannot listen on " + state->options.listen_address + ":" +
                                                        std::to_string(state->options.port) + ": " + std::strerror(errno));
  }
  sockaddr_storage bound{};
  socklen_t bound_length = sizeof bound;
  ::getsockname(state->listener.get(), reinterpret_cast<sockaddr*>(&bound), &bound_length);
  state->port = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                 : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  state->acceptor = std::thread([raw = state.get()] { raw->accept_loop(); });
  return std::unique_ptr<Proxy>(new Proxy(std::move(state)));
}

void Proxy::stop() {
  if (!m_state || m_state->stopping.exchange(true)) return;
  ::shutdown(m_state->listener.get(), SHUT_RDWR);
  if (m_state->acceptor.joinable()) m_state->acceptor.join();
  std::unique_lock lock(m_state->mutex);
  m_state->paced.notify_all();
  for (const int fd : m_state->clients) ::shutdown(fd, SHUT_RDWR);
  m_state->idle.wait(lock, [&] { return m_state->threads == 0; });
}

}  // namespace egress
