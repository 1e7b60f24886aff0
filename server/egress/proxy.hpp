#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/address_policy.hpp"
#include "core/error.hpp"
#include "egress/grant.hpp"

namespace egress {

/// Why the proxy decided as it did: a bounded set, for logs and metric labels.
enum class Reason {
  allowed,
  no_credentials,        ///< no Proxy-Authorization: the caller is not a run with egress
  bad_credentials,       ///< unknown run, or a run whose grant is gone (it ended), or a wrong token
  malformed_request,     ///< not a CONNECT or absolute-form http:// request we can read
  host_not_allowed,      ///< the name (or IP literal) is not in the run's policy
  port_not_allowed,      ///< the port is not one the policy allows
  address_refused,       ///< the name resolved to an address that is not public (AddressPolicy)
  resolve_failed,        ///< the name has no address
  connect_failed,        ///< no address answered
  too_many_connections,  ///< the run already has its maximum open
  byte_budget,           ///< the run's traffic reached its cap; the connection was closed
};

/// Stable lower-case name of a reason.
std::string_view to_string(Reason reason);

/// One decision, logged and counted by the proxy's owner.
struct Decision {
  std::string run_id;  ///< empty before the caller is known
  std::string policy;  ///< the grant's policy, empty before it is known
  bool connect = false;  ///< CONNECT (a tunnel), else a plain http:// request
  std::string host;    ///< as the caller wrote it (made printable and bounded)
  int port = 0;
  bool allowed = false;
  Reason reason = Reason::malformed_request;
  std::optional<core::AddressKind> refused_kind;  ///< set for address_refused
  std::string address;  ///< the address connected to, or refused
};

/// A name's addresses (A and AAAA); an error when it has none.
using Resolver = std::function<core::Result<std::vector<core::IpAddress>>(const std::string& host)>;

/// getaddrinfo, the resolver the proxy's own process is configured with.
Resolver system_resolver();

struct ProxyOptions {
  std::string listen_address = "0.0.0.0";  ///< numeric
  int port = 3128;                         ///< 0 picks a free one (tests)
  core::AddressPolicy addresses;           ///< what every resolved address must pass
  std::function<std::optional<Grant>(std::string_view run_id)> find_grant;
  Resolver resolve = system_resolver();
  std::function<void(const Decision&)> on_decision;  ///< called from connection threads
  int max_clients = 512;                              ///< connections open at once, all runs together
  std::chrono::milliseconds head_timeout{10'000};
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};  ///< a tunnel with no bytes either way this long is closed
};

/// A forward proxy for runs with egress: HTTP/1.1 CONNECT tunnels and absolute-form http://
/// requests, nothing else. For every connection it authenticates the run (Basic credentials =
/// run id and the grant's token), checks the host and port against the run's grant, resolves
/// the name itself, refuses unless every address passes the AddressPolicy, and connects to the
/// checked address (never re-resolving), then relays bytes within the run's byte and
/// connection caps, paced to the run's rate. One thread per client connection, at most `max_clients`.
class Proxy {
 public:
  /// Binds and starts accepting; an error when the address cannot be bound.
  static core::Result<std::unique_ptr<Proxy>> start(ProxyOptions options);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  /// The port it listens on.
  [[nodiscard]] int port() const;
  /// Stops accepting, closes every open connection and waits for their threads.
  void stop();

  struct State;

 private:
  explicit Proxy(std::shared_ptr<State> state);
  std::shared_ptr<State> m_state;
};

}  // namespace egress
