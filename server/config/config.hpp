#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace config {

/// Limits every run container gets; the timeout is both the default and the cap.
struct RunLimits {
  double cpus = 0.5;
  std::int64_t memory_mb = 256;
  std::int64_t pids = 128;
  int timeout_seconds = 30;
  std::int64_t output_bytes = 1024 * 1024;  ///< per stream
  std::int64_t tmp_mb = 64;
  std::int64_t nofile = 1024;
  std::int64_t file_size_mb = 512;
  std::int64_t code_bytes = 1024 * 1024;
  std::int64_t build_mb = 256;  ///< exec tmpfs at /build, only for runners that compile
  /// The most a runner's manifest may raise cpus, memory_mb and timeout_seconds to.
  double max_cpus = 1.0;
  std::int64_t max_memory_mb = 1024;
  int max_timeout_seconds = 60;

  /// The time limit of a run that asked for `requested` seconds: lowered to the cap, never raised.
  [[nodiscard]] int timeout_for(std::optional<int> requested) const {
    return std::min(requested.value_or(timeout_seconds), timeout_seconds);
  }
};

/// Every setting of the program, each defined once in config.cpp
/// (flag + environment variable + default + help).
struct Config {
  // Engine
  std::string docker_host = "unix:///var/run/docker.sock";
  int engine_timeout_seconds = 30;
  std::string runner_runtime;  ///< OCI runtime for runs; empty = engine default
  std::vector<std::string> required_runners = {"python", "typescript", "javascript", "bash"};
  std::string instance_id;  ///< labels our containers; empty = kept in <SANDBOX_ROOT>/.instance-id
  int reaper_interval_seconds = 60;
  int shutdown_grace_seconds = 30;

  // Sandbox
  std::string sandbox_root = "/var/lib/mcp-sandbox/sandboxes";
  std::string sandbox_host_path;  ///< empty = same as sandbox_root
  std::string state_dir;          ///< empty = <sandbox_root>/.state
  std::string file_secret;
  std::int64_t quota_mb = 1024;     ///< per conversation volume; 0 = plain directories, no quota
  std::int64_t quota_files = 20000; ///< files and folders per conversation
  std::string sandbox_ttl = "3d";   ///< idle conversations are deleted after this; "0" never

  // Limits and policy
  RunLimits limits;
  bool allow_network = false;

  // Egress through the filtering proxy (docs/security.md, "Egress")
  std::vector<std::string> egress_policies;        ///< what callers may choose besides none: packages, allowlist, open
  std::vector<std::string> egress_allowlist;       ///< host patterns of the allowlist policy
  std::vector<std::string> egress_package_hosts;   ///< "language=pattern" entries replacing a manifest's registries
  std::vector<std::string> egress_permitted_ranges;  ///< non-public ranges the proxy may still reach (a mirror)
  std::vector<std::string> install_environment;    ///< "language:NAME=value" entries for package installs only
  std::string egress_proxy = "mcp-sandbox-egress:3128";  ///< host:port runs reach the proxy at
  std::string egress_network = "mcp-sandbox-egress";     ///< the internal network runs with egress join
  std::string egress_grants_dir;                         ///< empty = <STATE_DIR>/egress-grants
  std::string egress_listen = "0.0.0.0:3128";            ///< where `egress-proxy` listens
  std::string egress_metrics_listen;                     ///< where `egress-proxy` serves /metrics; empty = off
  std::int64_t egress_max_mb = 512;                      ///< traffic per run, both directions
  int egress_max_connections = 16;                       ///< open at once per run
  std::int64_t egress_max_kbps = 10240;                  ///< KiB/s per run, both directions; 0 = not paced

  // Warm containers (docs/performance.md)
  int warm_max = 16;            ///< idle warm containers kept at once; 0 disables them
  int warm_idle_seconds = 300;  ///< a warm container unclaimed this long is removed
  int warm_new_per_language = 1;    ///< started containers kept for new conversations per language in use; 0: off
  std::string warm_lend = "auto";    ///< lend pooled containers to back-to-back calls: auto (where it works) or off
  int warm_new_idle_seconds = 240;  ///< a language unused by new conversations this long loses its pool

  // Server
  std::string http_addr = "127.0.0.1:8080";
  std::string public_base_url;
  std::vector<std::string> api_tokens;
  std::string api_token_file;
  std::string file_secret_file;
  std::vector<std::string> allowed_origins;
  std::vector<std::string> trusted_proxies;  ///< addresses/ranges whose CF-Connecting-IP / X-Forwarded-For count
  std::int64_t max_body_bytes = 8 * 1024 * 1024;
  int file_url_ttl_seconds = 86400;
  bool metrics_public = false;
  int session_idle_seconds = 3600;
  int max_sessions = 1000;
  int http_threads = 64;

  // OAuth (docs/clients.md, docs/security.md)
  bool oauth_enabled = false;
  std::string oauth_owner_password;
  std::string oauth_owner_password_file;
  std::string oauth_access_token_ttl = "1h";
  std::string oauth_refresh_token_ttl = "30d";
  int oauth_registrations_per_hour = 20;
  int oauth_max_pending_clients = 1000;
  int oauth_login_failures_per_15_minutes = 10;

  // Capacity and abuse limits (docs/limits.md)
  int max_concurrent_runs = 0;  ///< run containers at once; 0 = CPU cores / RUN_CPUS
  int max_queued_runs = 16;     ///< runs waiting for a slot beyond those
  int run_queue_timeout_seconds = 30;
  int rate_limit_calls_per_minute = 300;  ///< tool calls per token; 0 = off
  int auth_failures_per_minute = 30;      ///< wrong tokens per peer address before 429; 0 = off
  int http_header_timeout_seconds = 10;   ///< whole request line + headers, however slowly sent
  int http_body_timeout_seconds = 60;     ///< whole body
  int http_max_connections_per_peer = 16; ///< 0 = no cap

  // Tool output
  std::int64_t inline_image_bytes = 2 * 1024 * 1024;
  std::int64_t read_file_bytes = 1024 * 1024;

  // Logging
  std::string log_level = "info";
  std::string log_format = "text";

  // Testing only (docs/configuration.md): refused unless test_mode is on
  bool test_mode = false;              ///< MCP_SANDBOX_TEST_MODE: allows the settings below, loudly
  std::string oauth_cimd_test_origin;  ///< https://localhost:PORT, the one loopback origin CIMD may fetch from
  std::string oauth_cimd_test_ca;      ///< PEM file of the CA the test origin's certificate is signed by

  /// Where the server keeps state that outlives it (databases); runs never see it.
  [[nodiscard]] std::string state_directory() const {
    return state_dir.empty() ? sandbox_root + "/.state" : state_dir;
  }

  /// The directory of per-run egress grants, shared by the server (writer) and the proxy (reader).
  [[nodiscard]] std::string egress_grants_directory() const {
    return egress_grants_dir.empty() ? state_directory() + "/egress-grants" : egress_grants_dir;
  }

  /// Where the engine sees the sandbox root.
  [[nodiscard]] const std::string& engine_sandbox_path() const {
    return sandbox_host_path.empty() ? sandbox_root : sandbox_host_path;
  }
};

/// Seconds in a duration: a plain number of seconds or a number with one of
/// the units s, m, h, d ("90", "30m", "3d"). nullopt when it is not one.
std::optional<std::int64_t> parse_duration_seconds(std::string_view text);

/// SANDBOX_TTL in seconds (0: never); validate() has checked it.
std::int64_t sandbox_ttl_seconds(const Config& config);

/// Minimum length of OAUTH_OWNER_PASSWORD.
inline constexpr std::size_t kMinOwnerPasswordLength = 16;

/// Minimum length of MCP_API_TOKEN entries and FILE_SECRET.
inline constexpr std::size_t kMinSecretLength = 32;

/// True when `id` can be an INSTANCE_ID: 1-64 of [A-Za-z0-9._-] (it becomes a label value and a file's content).
bool valid_instance_id(std::string_view id);

/// True when `origin` is a test origin OAUTH_CIMD_TEST_ORIGIN accepts: https://localhost:PORT.
bool valid_test_origin(std::string_view origin);

/// Adds every setting to `app` as a flag with its environment variable
/// (a flag given on the command line wins over the environment).
void register_settings(CLI::App& app, Config& config);

/// Called after parsing: reads the *_FILE variants of secrets when set.
/// Returns the problems found reading them.
std::vector<std::string> resolve_secret_files(Config& config);

/// Every problem with the values that holds for all subcommands, each a
/// sentence saying what to change. Empty when the configuration is usable.
std::vector<std::string> validate(const Config& config);

/// Problems with the secrets a server needs (token(s), file secret).
std::vector<std::string> validate_secrets(const Config& config);

}  // namespace config
