#include "config/config.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "core/address_policy.hpp"
#include "core/encoding.hpp"

namespace config {
namespace {

constexpr std::int64_t kMinQuotaMb = 16;

// Adds one setting. Every setting goes through here so that each has a flag,
// an environment variable and its default in --help.
template <typename T>
CLI::Option* setting(CLI::App& app, const std::string& flag, const std::string& env, T& target,
                     const std::string& help, const std::string& group) {
  return app.add_option(flag, target, help)->envname(env)->capture_default_str()->group(group);
}

bool read_secret_file(const std::string& path, std::string& out) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream buffer;
  buffer << in.rdbuf();
  out = std::string(core::trim(buffer.str()));
  return true;
}

}  // namespace

bool valid_test_origin(std::string_view origin) {
  constexpr std::string_view prefix = "https://localhost:";
  if (origin.substr(0, prefix.size()) != prefix) return false;
  const std::string_view port = origin.substr(prefix.size());
  if (port.empty() || port.size() > 5 || port.front() == '0' ||
      !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return false;
  }
  return std::stoi(std::string(port)) <= 65535;
}

bool valid_instance_id(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '_' || ch == '-';
  });
}

void register_settings(CLI::App& app, Config& c) {
  const std::string engine = "Engine";
  setting(app, "--docker-host", "DOCKER_HOST", c.docker_host,
          "Docker engine endpoint: unix:///path or tcp://host:port", engine);
  setting(app, "--engine-timeout", "ENGINE_TIMEOUT_SECONDS", c.engine_timeout_seconds,
          "Deadline for each Engine API call, seconds", engine)
      ->check(CLI::Range(1, 600));
  setting(app, "--runner-runtime", "RUNNER_RUNTIME", c.runner_runtime,
          "OCI runtime for run containers (e.g. runsc); empty uses the engine's default", engine);
  setting(app, "--required-runners", "REQUIRED_RUNNERS", c.required_runners,
          "Languages whose runner images must be present (comma-separated)", engine)
      ->delimiter(',');
  setting(app, "--instance-id", "INSTANCE_ID", c.instance_id,
          "Names this deployment's containers (label io.mcp-sandbox.instance); empty: generated once and kept in "
          "<SANDBOX_ROOT>/.instance-id. Servers sharing an engine need different ids",
          engine);
  setting(app, "--reaper-interval", "REAPER_INTERVAL_SECONDS", c.reaper_interval_seconds,
          "How often containers of this instance that no run owns are removed, seconds (also once at start)", engine)
      ->check(CLI::Range(1, 86400));
  setting(app, "--shutdown-grace", "SHUTDOWN_GRACE_SECONDS", c.shutdown_grace_seconds,
          "On SIGTERM, how long runs in flight may finish before they are killed, seconds", engine)
      ->check(CLI::Range(0, 3600));

  const std::string sandbox = "Sandbox";
  setting(app, "--sandbox-root", "SANDBOX_ROOT", c.sandbox_root,
          "Directory holding one sub-directory per conversation, as this process sees it", sandbox);
  setting(app, "--sandbox-host-path", "SANDBOX_HOST_PATH", c.sandbox_host_path,
          "The same directory as the Docker engine sees it (empty: same as SANDBOX_ROOT)", sandbox);
  setting(app, "--state-dir", "STATE_DIR", c.state_dir,
          "Directory of the server's own state that must survive restarts (SQLite databases); never mounted "
          "into runs. Empty: <SANDBOX_ROOT>/.state",
          sandbox);
  setting(app, "--file-secret", "FILE_SECRET", c.file_secret,
          "Secret (>= 32 chars) that names conversation directories and signs download URLs", sandbox);
  setting(app, "--file-secret-file", "FILE_SECRET_FILE", c.file_secret_file,
          "Read FILE_SECRET from this file instead", sandbox);
  setting(app, "--sandbox-quota-mb", "SANDBOX_QUOTA_MB", c.quota_mb,
          "Storage per conversation, MiB: a fixed-size volume mounted at its /data (needs root or CAP_SYS_ADMIN); "
          "0 turns quotas off (plain directories, nothing enforced)", sandbox)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 24));
  setting(app, "--sandbox-quota-files", "SANDBOX_QUOTA_FILES", c.quota_files,
          "Files and folders per conversation (with SANDBOX_QUOTA_MB)", sandbox)
      ->check(CLI::Range(std::int64_t{16}, std::int64_t{1} << 26));
  setting(app, "--sandbox-ttl", "SANDBOX_TTL", c.sandbox_ttl,
          "Conversations unused this long are deleted: seconds or a number with s, m, h or d; 0 keeps them forever",
          sandbox);

  const std::string limits = "Run limits";
  setting(app, "--run-cpus", "RUN_CPUS", c.limits.cpus, "CPUs per run", limits)->check(CLI::Range(0.01, 64.0));
  setting(app, "--run-memory-mb", "RUN_MEMORY_MB", c.limits.memory_mb, "Memory per run, MiB (no swap)", limits)
      ->check(CLI::Range(std::int64_t{16}, std::int64_t{1} << 20));
  setting(app, "--run-pids", "RUN_PIDS_LIMIT", c.limits.pids, "Processes and threads per run", limits)
      ->check(CLI::Range(std::int64_t{8}, std::int64_t{1} << 16));
  setting(app, "--run-timeout", "RUN_TIMEOUT_SECONDS", c.limits.timeout_seconds,
          "Wall-clock limit per run, seconds: the default and the maximum a caller may ask for", limits)
      ->check(CLI::Range(1, 3600));
  setting(app, "--run-output-bytes", "RUN_OUTPUT_BYTES", c.limits.output_bytes,
          "Bytes kept of each of stdout and stderr; the rest is dropped and the run marked truncated", limits)
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{1} << 30));
  setting(app, "--run-tmp-mb", "RUN_TMP_MB", c.limits.tmp_mb, "Size of the tmpfs at /tmp in each run, MiB", limits)
      ->check(CLI::Range(std::int64_t{4}, std::int64_t{1} << 16));
  setting(app, "--run-nofile", "RUN_NOFILE", c.limits.nofile, "Open files per run process", limits)
      ->check(CLI::Range(std::int64_t{64}, std::int64_t{1} << 20));
  setting(app, "--run-file-size-mb", "RUN_FILE_SIZE_MB", c.limits.file_size_mb,
          "Largest file a run may write, MiB", limits)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  setting(app, "--run-code-bytes", "RUN_CODE_BYTES", c.limits.code_bytes, "Largest program accepted, bytes", limits)
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{16} << 20));
  setting(app, "--run-build-mb", "RUN_BUILD_MB", c.limits.build_mb,
          "Size of the exec tmpfs at /build where runners that compile put their output, MiB", limits)
      ->check(CLI::Range(std::int64_t{4}, std::int64_t{1} << 16));
  setting(app, "--runner-max-cpus", "RUNNER_MAX_CPUS", c.limits.max_cpus,
          "The most CPUs a runner's manifest may ask for (compilers); never below RUN_CPUS", limits)
      ->check(CLI::Range(0.01, 64.0));
  setting(app, "--runner-max-memory-mb", "RUNNER_MAX_MEMORY_MB", c.limits.max_memory_mb,
          "The most memory a runner's manifest may ask for, MiB (rustc, javac); never below RUN_MEMORY_MB", limits)
      ->check(CLI::Range(std::int64_t{16}, std::int64_t{1} << 20));
  setting(app, "--runner-max-timeout", "RUNNER_MAX_TIMEOUT_SECONDS", c.limits.max_timeout_seconds,
          "The longest time limit a runner's manifest may ask for, seconds; never below RUN_TIMEOUT_SECONDS", limits)
      ->check(CLI::Range(1, 3600));
  setting(app, "--allow-network", "ALLOW_NETWORK", c.allow_network,
          "Let callers ask for network access in a run (off: every run has only loopback)", limits);

  const std::string egress = "Egress";
  setting(app, "--egress-policies", "EGRESS_POLICIES", c.egress_policies,
          "Egress policies callers may choose besides none (the default), comma-separated: packages (the runner's "
          "package registries), allowlist (EGRESS_ALLOWLIST), open (any public address); empty: no egress",
          egress)
      ->delimiter(',');
  setting(app, "--egress-allowlist", "EGRESS_ALLOWLIST", c.egress_allowlist,
          "Hosts of the allowlist policy, comma-separated: a name, or *.name for any name below it", egress)
      ->delimiter(',');
  setting(app, "--egress-package-hosts", "EGRESS_PACKAGE_HOSTS", c.egress_package_hosts,
          "Package registries of the packages policy per language, replacing the runner manifest's list: "
          "language=host entries, comma-separated (repeat a language for several hosts)",
          egress)
      ->delimiter(',');
  setting(app, "--egress-permitted-ranges", "EGRESS_PERMITTED_RANGES", c.egress_permitted_ranges,
          "Non-public address ranges the egress proxy may still connect to (an internal package mirror), "
          "comma-separated CIDR; metadata addresses open only when named exactly",
          egress)
      ->delimiter(',');
  setting(app, "--install-environment", "INSTALL_ENVIRONMENT", c.install_environment,
          "Environment of the package installer a call's dependencies run, per language: language:NAME=value "
          "entries, comma-separated (an index or registry mirror, e.g. python:PIP_INDEX_URL=..., "
          "javascript:npm_config_registry=...); runs of the program never see them",
          egress)
      ->delimiter(',');
  setting(app, "--egress-proxy", "EGRESS_PROXY", c.egress_proxy,
          "host:port at which runs with egress reach the egress proxy on EGRESS_NETWORK", egress);
  setting(app, "--egress-network", "EGRESS_NETWORK", c.egress_network,
          "The internal Docker network (internal: true) runs with egress join; its only way out is the proxy", egress);
  setting(app, "--egress-grants-dir", "EGRESS_GRANTS_DIR", c.egress_grants_dir,
          "Directory of per-run egress grants, written by the server and read by the proxy (a shared volume). "
          "Empty: <STATE_DIR>/egress-grants",
          egress);
  setting(app, "--egress-listen", "EGRESS_LISTEN", c.egress_listen,
          "Where the egress-proxy subcommand listens, address:port", egress);
  setting(app, "--egress-metrics-listen", "EGRESS_METRICS_LISTEN", c.egress_metrics_listen,
          "Where the egress-proxy subcommand serves its decision counters as Prometheus text (GET /metrics), "
          "address:port on a network runs are not on; empty: not served",
          egress);
  setting(app, "--egress-max-mb", "EGRESS_MAX_MB", c.egress_max_mb,
          "Traffic one run may move through the proxy, both directions, MiB", egress)
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 20));
  setting(app, "--egress-max-connections", "EGRESS_MAX_CONNECTIONS", c.egress_max_connections,
          "Connections one run may hold open through the proxy at once", egress)
      ->check(CLI::Range(1, 1024));
  setting(app, "--egress-max-kbps", "EGRESS_MAX_KBPS", c.egress_max_kbps,
          "Bandwidth of one run through the proxy, KiB/s, all its connections and both directions together; "
          "0: not paced",
          egress)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 30));

  const std::string warm = "Warm containers";
  setting(app, "--warm-max", "WARM_MAX", c.warm_max,
          "Idle warm containers kept at once (each started for one conversation's next run, used once); 0 disables",
          warm)
      ->check(CLI::Range(0, 10000));
  setting(app, "--warm-idle-seconds", "WARM_IDLE_SECONDS", c.warm_idle_seconds,
          "A warm container not claimed within this many seconds is removed", warm)
      ->check(CLI::Range(1, 86400));
  setting(app, "--warm-new-per-language", "WARM_NEW_PER_LANGUAGE", c.warm_new_per_language,
          "Started containers kept ready for new conversations, per runner language in use (each with its own "
          "fresh /data); 0 disables",
          warm)
      ->check(CLI::Range(0, 64));
  setting(app, "--warm-lend", "WARM_LEND", c.warm_lend,
          "auto: a call whose conversation's next container is still starting borrows one that waits for new "
          "conversations, its /data attached by a bind mount (where the server may mount and the runtime sees it); "
          "off: never",
          warm)
      ->check(CLI::IsMember({"auto", "off"}));
  setting(app, "--warm-new-idle-seconds", "WARM_NEW_IDLE_SECONDS", c.warm_new_idle_seconds,
          "A language no new conversation used for this many seconds gets no ready containers; one unused "
          "this long is replaced",
          warm)
      ->check(CLI::Range(10, 86400));

  const std::string server = "Server";
  setting(app, "--http-addr", "MCP_HTTP_ADDR", c.http_addr, "Listen address, host:port or :port", server);
  setting(app, "--public-base-url", "PUBLIC_BASE_URL", c.public_base_url,
          "Base URL clients reach this server at, used in download links", server);
  setting(app, "--api-token", "MCP_API_TOKEN", c.api_tokens,
          "Bearer token(s), comma-separated for rotation, each >= 32 chars", server)
      ->delimiter(',');
  setting(app, "--api-token-file", "MCP_API_TOKEN_FILE", c.api_token_file,
          "Read MCP_API_TOKEN (comma- or newline-separated) from this file instead", server);

  setting(app, "--allowed-origins", "ALLOWED_ORIGINS", c.allowed_origins,
          "Browser Origins allowed to call the server (comma-separated scheme://host[:port]; * for any); "
          "requests without an Origin header are always allowed", server)
      ->delimiter(',');
  setting(app, "--trusted-proxies", "TRUSTED_PROXIES", c.trusted_proxies,
          "Proxies (addresses or CIDR ranges, comma-separated) whose CF-Connecting-IP or X-Forwarded-For header "
          "names the client, for per-address limits behind a Cloudflare Tunnel or nginx; nobody else is believed",
          server)
      ->delimiter(',');
  setting(app, "--max-body-bytes", "MAX_BODY_BYTES", c.max_body_bytes, "Largest request body accepted, whatever its framing (413 as soon as it is crossed)",
          server)
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{1} << 30));
  setting(app, "--file-url-ttl", "FILE_URL_TTL", c.file_url_ttl_seconds, "Lifetime of signed download URLs, seconds",
          server)
      ->check(CLI::Range(1, 366 * 86400));
  setting(app, "--metrics-public", "METRICS_PUBLIC", c.metrics_public,
          "Serve /metrics without the bearer token (for a scraper on a private network)", server);
  setting(app, "--session-idle-seconds", "SESSION_IDLE_SECONDS", c.session_idle_seconds,
          "MCP sessions unused this long are closed", server)
      ->check(CLI::Range(10, 7 * 86400));
  setting(app, "--max-sessions", "MAX_SESSIONS", c.max_sessions, "Most MCP sessions open at once (503 beyond)", server)
      ->check(CLI::Range(1, 1000000));
  setting(app, "--http-threads", "HTTP_THREADS", c.http_threads,
          "Most HTTP worker threads at once (started on demand, ended after 5 s idle); each open SSE stream holds one", server)
      ->check(CLI::Range(4, 4096));
  setting(app, "--inline-image-bytes", "INLINE_IMAGE_BYTES", c.inline_image_bytes,
          "Largest image returned inline in a tool result; larger ones only get a URL", server)
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{64} << 20));
  setting(app, "--read-file-bytes", "READ_FILE_BYTES", c.read_file_bytes,
          "Largest file read_file returns (bigger files: use the URL)", server)
      ->check(CLI::Range(std::int64_t{1024}, std::int64_t{64} << 20));

  const std::string oauth = "OAuth (remote assistants: Claude.ai, ChatGPT, Claude apps)";
  setting(app, "--oauth", "OAUTH_ENABLED", c.oauth_enabled,
          "Run the built-in OAuth 2.1 authorization server so assistants that cannot send a static token can connect "
          "after the owner approves them in a browser (needs an https PUBLIC_BASE_URL, or http on loopback)", oauth);
  setting(app, "--oauth-owner-password", "OAUTH_OWNER_PASSWORD", c.oauth_owner_password,
          "What the owner types on the consent page to approve a client (>= 16 chars)", oauth);
  setting(app, "--oauth-owner-password-file", "OAUTH_OWNER_PASSWORD_FILE", c.oauth_owner_password_file,
          "Read OAUTH_OWNER_PASSWORD from this file instead", oauth);
  setting(app, "--oauth-access-token-ttl", "OAUTH_ACCESS_TOKEN_TTL", c.oauth_access_token_ttl,
          "Lifetime of an access token (seconds, or with s, m, h, d)", oauth);
  setting(app, "--oauth-refresh-token-ttl", "OAUTH_REFRESH_TOKEN_TTL", c.oauth_refresh_token_ttl,
          "Lifetime of a refresh token; each refresh issues a new one (seconds, or with s, m, h, d)", oauth);
  setting(app, "--oauth-registrations-per-hour", "OAUTH_REGISTRATIONS_PER_HOUR", c.oauth_registrations_per_hour,
          "Client registrations per hour from one address (429 beyond)", oauth)
      ->check(CLI::Range(1, 100000));
  setting(app, "--oauth-max-pending-clients", "OAUTH_MAX_PENDING_CLIENTS", c.oauth_max_pending_clients,
          "Registered clients the owner has not approved yet (each forgotten after a day); registration answers 503 beyond",
          oauth)
      ->check(CLI::Range(1, 1000000));
  setting(app, "--oauth-login-failures-per-15-minutes", "OAUTH_LOGIN_FAILURES_PER_15_MINUTES",
          c.oauth_login_failures_per_15_minutes,
          "Wrong owner passwords from one address per 15 minutes before the consent page answers 429", oauth)
      ->check(CLI::Range(1, 100000));

  const std::string capacity = "Capacity and abuse limits";
  setting(app, "--max-concurrent-runs", "MAX_CONCURRENT_RUNS", c.max_concurrent_runs,
          "Run containers at once; 0 = CPU cores / RUN_CPUS (2 x cores at 0.5 CPU per run)", capacity)
      ->check(CLI::Range(0, 4096));
  setting(app, "--max-queued-runs", "MAX_QUEUED_RUNS", c.max_queued_runs,
          "Runs that may wait for a free slot; beyond, a call fails at once with a busy error", capacity)
      ->check(CLI::Range(0, 65536));
  setting(app, "--run-queue-timeout", "RUN_QUEUE_TIMEOUT_SECONDS", c.run_queue_timeout_seconds,
          "Longest a run waits for a slot before it fails with a busy error, seconds", capacity)
      ->check(CLI::Range(0, 3600));
  setting(app, "--rate-limit-calls-per-minute", "RATE_LIMIT_CALLS_PER_MINUTE", c.rate_limit_calls_per_minute,
          "Tool calls per minute per API token (bursts up to the same number); 429 beyond; 0 = off", capacity)
      ->check(CLI::Range(0, 1000000));
  setting(app, "--auth-failures-per-minute", "AUTH_FAILURES_PER_MINUTE", c.auth_failures_per_minute,
          "Wrong tokens per minute from one address before it gets 429 instead of 401; 0 = off", capacity)
      ->check(CLI::Range(0, 1000000));
  setting(app, "--http-header-timeout", "HTTP_HEADER_TIMEOUT_SECONDS", c.http_header_timeout_seconds,
          "Deadline for a request's line and headers, however slowly they trickle in, seconds", capacity)
      ->check(CLI::Range(1, 3600));
  setting(app, "--http-body-timeout", "HTTP_BODY_TIMEOUT_SECONDS", c.http_body_timeout_seconds,
          "Deadline for a request's whole body, seconds", capacity)
      ->check(CLI::Range(1, 3600));
  setting(app, "--http-max-connections-per-peer", "HTTP_MAX_CONNECTIONS_PER_PEER", c.http_max_connections_per_peer,
          "Open connections from one address (at the cap an idle one makes room, else more are closed at once; trusted proxies are not capped); 0 = no cap", capacity)
      ->check(CLI::Range(0, 65536));

  const std::string logging = "Logging";
  setting(app, "--log-level", "LOG_LEVEL", c.log_level, "trace, debug, info, warn, error", logging)
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  setting(app, "--log-format", "LOG_FORMAT", c.log_format, "text or json", logging)
      ->check(CLI::IsMember({"text", "json"}));

  // Test-only escape hatches: each is refused by validate() unless MCP_SANDBOX_TEST_MODE=1 is set too,
  // so that no single variable copied into a production environment opens anything.
  const std::string testing = "Testing only (refused unless MCP_SANDBOX_TEST_MODE=1)";
  setting(app, "--test-mode", "MCP_SANDBOX_TEST_MODE", c.test_mode,
          "Allows the settings of this group, which exist for the project's own tests; never set it on a server "
          "that real users reach (the server logs a warning at start when they are in use)",
          testing);
  setting(app, "--oauth-cimd-test-origin", "OAUTH_CIMD_TEST_ORIGIN", c.oauth_cimd_test_origin,
          "https://localhost:PORT: the one loopback origin Client ID Metadata Documents may be fetched from "
          "(every other loopback, private or link-local address stays refused); needs OAUTH_CIMD_TEST_CA",
          testing);
  setting(app, "--oauth-cimd-test-ca", "OAUTH_CIMD_TEST_CA", c.oauth_cimd_test_ca,
          "PEM file of the CA trusted for OAUTH_CIMD_TEST_ORIGIN only (other origins use the system CAs)", testing);
}

std::vector<std::string> resolve_secret_files(Config& c) {
  std::vector<std::string> problems;
  if (!c.file_secret_file.empty() && !read_secret_file(c.file_secret_file, c.file_secret)) {
    problems.push_back("FILE_SECRET_FILE " + c.file_secret_file + " cannot be read");
  }
  if (!c.oauth_owner_password_file.empty() && !read_secret_file(c.oauth_owner_password_file, c.oauth_owner_password)) {
    problems.push_back("OAUTH_OWNER_PASSWORD_FILE " + c.oauth_owner_password_file + " cannot be read");
  }
  if (!c.api_token_file.empty()) {
    std::string text;
    if (!read_secret_file(c.api_token_file, text)) {
      problems.push_back("MCP_API_TOKEN_FILE " + c.api_token_file + " cannot be read");
    } else {
      std::replace(text.begin(), text.end(), '\n', ',');
      c.api_tokens.clear();
      std::stringstream parts(text);
      for (std::string token; std::getline(parts, token, ',');) {
        if (const auto kept = core::trim(token); !kept.empty()) c.api_tokens.emplace_back(kept);
      }
    }
  }
  return problems;
}

std::vector<std::string> validate(const Config& c) {
  std::vector<std::string> problems;
  if (c.sandbox_root.empty() || c.sandbox_root.front() != '/') {
    problems.push_back("SANDBOX_ROOT must be an absolute path (got '" + c.sandbox_root + "')");
  }
  if (!c.state_dir.empty() && c.state_dir.front() != '/') {
    problems.push_back("STATE_DIR must be an absolute path (got '" + c.state_dir + "')");
  }
  if (c.oauth_enabled && c.oauth_owner_password.size() < kMinOwnerPasswordLength) {
    problems.push_back("OAUTH_ENABLED needs OAUTH_OWNER_PASSWORD (or _FILE) of at least " +
                       std::to_string(kMinOwnerPasswordLength) + " characters");
  }
  for (const auto* ttl : {&c.oauth_access_token_ttl, &c.oauth_refresh_token_ttl}) {
    const auto seconds = parse_duration_seconds(*ttl);
    if (!seconds || *seconds < 60) {
      problems.push_back("OAUTH_ACCESS_TOKEN_TTL and OAUTH_REFRESH_TOKEN_TTL must be at least 60 s, e.g. 1h or 30d (got '" +
                         *ttl + "')");
    }
  }
  if (!c.sandbox_host_path.empty() && c.sandbox_host_path.front() != '/') {
    problems.push_back("SANDBOX_HOST_PATH must be an absolute host path (got '" + c.sandbox_host_path + "')");
  }
  if (c.limits.output_bytes > c.limits.memory_mb * 1024 * 1024 * 4) {
    problems.push_back("RUN_OUTPUT_BYTES is larger than four times RUN_MEMORY_MB; lower it");
  }
  if (c.http_max_connections_per_peer >= c.http_threads) {
    problems.push_back("HTTP_MAX_CONNECTIONS_PER_PEER must be below HTTP_THREADS, or one address can hold every "
                       "worker thread (or 0 to turn the cap off behind a proxy)");
  }
  if (c.quota_mb > 0 && c.quota_mb < kMinQuotaMb) {
    problems.push_back("SANDBOX_QUOTA_MB must be 0 (off) or at least " + std::to_string(kMinQuotaMb));
  }
  // ext4 keeps 256 bytes of inode table per file inside the volume.
  if (c.quota_mb >= kMinQuotaMb && c.quota_files * 256 > c.quota_mb * 1024 * 1024 / 4) {
    problems.push_back("SANDBOX_QUOTA_FILES needs 256 bytes of each conversation's volume per file; " +
                       std::to_string(c.quota_files) + " files would take over a quarter of SANDBOX_QUOTA_MB=" +
                       std::to_string(c.quota_mb) + ": lower the one or raise the other");
  }
  if (!parse_duration_seconds(c.sandbox_ttl)) {
    problems.push_back("SANDBOX_TTL must be seconds or a number with s, m, h or d, e.g. 3d (got '" + c.sandbox_ttl +
                       "'); 0 keeps conversations forever");
  }
  if (!c.instance_id.empty() && !valid_instance_id(c.instance_id)) {
    problems.push_back("INSTANCE_ID must be 1-64 characters of A-Z a-z 0-9 . _ - (got '" + c.instance_id + "')");
  }
  for (const auto& policy : c.egress_policies) {
    if (policy != "packages" && policy != "allowlist" && policy != "open") {
      problems.push_back("EGRESS_POLICIES takes packages, allowlist and open (got '" + policy + "')");
    }
  }
  const bool allowlist = std::find(c.egress_policies.begin(), c.egress_policies.end(), "allowlist") != c.egress_policies.end();
  if (allowlist && c.egress_allowlist.empty()) {
    problems.push_back("EGRESS_POLICIES offers allowlist but EGRESS_ALLOWLIST names no host");
  }
  for (const auto& entry : c.egress_package_hosts) {
    const auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == entry.size()) {
      problems.push_back("EGRESS_PACKAGE_HOSTS entries are language=host (got '" + entry + "')");
    }
  }
  for (const auto& entry : c.install_environment) {
    const auto colon = entry.find(':');
    const auto equals = entry.find('=');
    if (colon == std::string::npos || colon == 0 || equals == std::string::npos || equals < colon ||
        !core::valid_environment_name(std::string_view(entry).substr(colon + 1, equals - colon - 1))) {
      problems.push_back("INSTALL_ENVIRONMENT entries are language:NAME=value (got '" + entry + "')");
    }
  }
  for (const auto& range : c.egress_permitted_ranges) {
    if (!core::AddressRange::parse(range)) {
      problems.push_back("EGRESS_PERMITTED_RANGES: '" + range + "' is not an address or CIDR range");
    }
  }
  if (!c.egress_grants_dir.empty() && c.egress_grants_dir.front() != '/') {
    problems.push_back("EGRESS_GRANTS_DIR must be an absolute path (got '" + c.egress_grants_dir + "')");
  }
  if (c.required_runners.empty()) {
    problems.push_back("REQUIRED_RUNNERS must name at least one language");
  }
  if (!c.oauth_cimd_test_origin.empty() || !c.oauth_cimd_test_ca.empty()) {
    if (!c.test_mode) {
      problems.push_back("OAUTH_CIMD_TEST_ORIGIN and OAUTH_CIMD_TEST_CA exist only for tests and are refused unless "
                         "MCP_SANDBOX_TEST_MODE=1; unset them");
    }
    if (!valid_test_origin(c.oauth_cimd_test_origin)) {
      problems.push_back("OAUTH_CIMD_TEST_ORIGIN must be https://localhost:PORT (got '" +
                         core::printable(c.oauth_cimd_test_origin, 80) + "')");
    }
    if (c.oauth_cimd_test_ca.empty() || c.oauth_cimd_test_ca.front() != '/') {
      problems.push_back("OAUTH_CIMD_TEST_CA must be the absolute path of a PEM file when OAUTH_CIMD_TEST_ORIGIN is set");
    }
  }
  return problems;
}

std::optional<std::int64_t> parse_duration_seconds(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t unit = 1;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: unit = 0; break;
  }
  if (unit != 0) text.remove_suffix(1);
  if (unit == 0) unit = 1;
  if (text.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + (ch - '0');
  }
  if (value > (std::int64_t{1} << 40) / unit) return std::nullopt;
  return value * unit;
}

std::int64_t sandbox_ttl_seconds(const Config& c) { return parse_duration_seconds(c.sandbox_ttl).value_or(0); }

std::vector<std::string> validate_secrets(const Config& c) {
  std::vector<std::string> problems;
  if (c.api_tokens.empty()) {
    problems.push_back("MCP_API_TOKEN is not set; generate one with: openssl rand -hex 32");
  }
  for (const auto& token : c.api_tokens) {
    if (token.size() < kMinSecretLength) {
      problems.push_back("an MCP_API_TOKEN entry is shorter than 32 characters; generate one with: openssl rand -hex 32");
    }
  }
  if (c.file_secret.size() < kMinSecretLength) {
    problems.push_back(std::string(c.file_secret.empty() ? "FILE_SECRET is not set" : "FILE_SECRET is shorter than 32 characters") +
                       "; generate one with: openssl rand -hex 32");
  }
  return problems;
}

}  // namespace config
