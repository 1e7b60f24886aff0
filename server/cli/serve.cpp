#include "cli/serve.hpp"

#include "cli/sweeper.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <thread>

#include "cli/sandbox_probe.hpp"
#include "core/random.hpp"
#include "core/version.hpp"
#include "docker/observed_engine.hpp"
#include "http/file_routes.hpp"
#include "http/mcp_endpoint.hpp"
#include "http/ops_routes.hpp"
#include "http/server.hpp"
#include "mcp/tool.hpp"
#include "metrics/metrics.hpp"
#include "runner/executor.hpp"
#include "runner/instance_id.hpp"
#include "sandbox/root_lock.hpp"
#include "runner/reaper.hpp"
#include "tools/tools.hpp"

namespace cli {
namespace {

constexpr int kBadConfig = 2;
constexpr int kCannotServe = 1;

// Blocks SIGTERM/SIGINT in every thread and waits for them on one, so the
// handler can do real work (stop the server) instead of async-signal-safe only.
sigset_t block_stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

}  // namespace

int serve(const config::Config& config, docker::Engine& raw_engine) {
  // glibc gives each busy thread its own malloc arena (up to 8 per core); with
  // a 64-thread HTTP pool that is resident memory that only grows. Two arenas
  // are plenty for a server whose time goes to waiting on the engine.
  mallopt(M_ARENA_MAX, 2);
  if (auto problems = config::validate_secrets(config); !problems.empty()) {
    for (const auto& problem : problems) spdlog::critical("refusing to start: {}", problem);
    return kBadConfig;
  }
  std::string public_base_url = config.public_base_url;
  if (public_base_url.empty()) {
    auto address = http::parse_listen_address(config.http_addr);
    if (!address) {
      spdlog::critical("{}", address.error().message);
      return kBadConfig;
    }
    const auto host = address->first == "0.0.0.0" ? std::string("127.0.0.1") : address->first;
    public_base_url = "http://" + host + ":" + std::to_string(address->second);
    spdlog::warn("PUBLIC_BASE_URL is not set; download links will use {}", public_base_url);
  }
  const sigset_t stop_signals = block_stop_signals();
  metrics::Metrics metrics;
  docker::ObservedEngine engine(raw_engine, [&metrics](std::string_view call, const core::Error* error,
                                                       std::chrono::duration<double> took) {
    metrics.engine_call(call, error != nullptr ? core::to_string(error->kind) : std::string_view(), took.count());
  });

  sandbox::Workspaces workspaces(config.sandbox_root, config.engine_sandbox_path(), config.file_secret,
                                 workspace_options(config));
  if (auto ready = workspaces.prepare_root(); !ready) {
    spdlog::critical("{}", ready.error().message);
    return kCannotServe;
  }
  // Before anything touches the root's containers or volumes: one server per root.
  auto root_lock = sandbox::RootLock::acquire(config.sandbox_root);
  if (!root_lock) {
    spdlog::critical("refusing to start: {}", root_lock.error().message);
    return kCannotServe;
  }
  // Quotas configured but not enforceable here: refuse, never fall back to unlimited directories.
  if (auto quotas = workspaces.check_quota_support(); !quotas) {
    spdlog::critical("{}", quotas.error().message);
    return kCannotServe;
  }
  if (config.quota_mb > 0) {
    spdlog::info("conversation storage: {} MiB and {} files each (loop-mounted ext4 volumes)", config.quota_mb,
                 config.quota_files);
  } else {
    spdlog::warn("SANDBOX_QUOTA_MB=0: conversation storage is not limited; a run can fill the disk");
  }
  auto discovered = runner::Registry::discover(engine);
  if (!discovered) {
    spdlog::critical("cannot list runner images: {}", discovered.error().message);
    return kCannotServe;
  }
  for (const auto& problem : discovered->problems()) spdlog::warn("runner image ignored: {}", problem);
  // Runs would fail one by one if the engine bind-mounted another directory
  // than the one we write (a container with a wrong SANDBOX_HOST_PATH): refuse now.
  auto probe = probe_sandbox(config, engine, *discovered, "");
  if (!probe || !probe->problem.empty()) {
    spdlog::critical("refusing to start: {}", probe ? probe->problem : probe.error().message);
    return kCannotServe;
  }
  spdlog::info("sandbox root {} is writable and the engine sees it as {} ({} ms probe run)", config.sandbox_root,
               config.engine_sandbox_path(), probe->outcome.duration.count());
  spdlog::info("runners: {}", discovered->language_list());
  runner::RunnerCatalog catalog(std::move(*discovered));

  // Stable across restarts, so the reaper recognises what a killed predecessor left behind.
  const auto instance_id = runner::resolve_instance_id(config.sandbox_root, config.instance_id);
  if (!instance_id) {
    spdlog::critical("{}", instance_id.error().message);
    return kCannotServe;
  }
  spdlog::info("instance id {}", *instance_id);
  runner::TrackedContainers tracked;
  runner::RunDrain drain;
  runner::ExecutorOptions executor_options{config.limits, config.runner_runtime, config.allow_network, *instance_id,
                                           &tracked};
  executor_options.drain = &drain;
  executor_options.warm_max = static_cast<std::size_t>(config.warm_max);
  executor_options.warm_idle = std::chrono::seconds(config.warm_idle_seconds);
  executor_options.warm_events = runner::WarmPoolEvents{
      [&metrics](std::size_t idle) { metrics.set_warm_idle(idle); },
      [&metrics](bool hit) { metrics.warm_claim(hit); },
      [&metrics](std::string_view reason) { metrics.warm_discard(reason); }};
  runner::Executor executor(engine, catalog, std::move(executor_options));
  runner::Reaper reaper(engine, tracked, *instance_id, [&metrics](std::size_t reaped) {
    if (reaped > 0) metrics.containers_reaped(reaped);
  });
  sandbox::UrlSigner signer(config.file_secret, public_base_url,
                            std::chrono::seconds(config.file_url_ttl_seconds));
  runner::AdmissionLimits admission_limits{
      config.max_concurrent_runs > 0
          ? static_cast<std::size_t>(config.max_concurrent_runs)
          : runner::default_max_running(std::thread::hardware_concurrency(), config.limits.cpus),
      static_cast<std::size_t>(config.max_queued_runs), std::chrono::seconds(config.run_queue_timeout_seconds)};
  runner::Admission admission(
      admission_limits,
      runner::Admission::Observer{
          [&metrics](const runner::AdmissionCounts& counts) { metrics.set_admission(counts.running, counts.queued); },
          [&metrics](std::string_view reason) { metrics.run_rejected(reason); }});
  spdlog::info("capacity: {} runs at once, {} queued for at most {} s", admission_limits.max_running,
               admission_limits.max_queued, config.run_queue_timeout_seconds);
  tools::Services services{executor,
                           admission,
                           catalog,
                           workspaces,
                           signer,
                           metrics,
                           config.limits,
                           config.allow_network,
                           public_base_url,
                           tools::ResultLimits{config.inline_image_bytes, 4, config.read_file_bytes, 200}};
  mcp::ToolRegistry tool_registry;
  tools::register_tools(tool_registry, services);

  http::McpEndpointOptions mcp_options;
  mcp_options.api_tokens = config.api_tokens;
  mcp_options.allowed_origins = config.allowed_origins;
  mcp_options.server_version = std::string(core::kVersion);
  mcp_options.instructions =
      "Run code with run_code (python, typescript, javascript, bash). Files persist per conversationId in /data; "
      "pass back the conversationId you get. Upload inputs with upload_file; results come back as download URLs.";
  mcp_options.session_idle_timeout = std::chrono::seconds(config.session_idle_seconds);
  mcp_options.max_sessions = static_cast<std::size_t>(config.max_sessions);
  mcp_options.limits = http::ClientLimitOptions{config.rate_limit_calls_per_minute, config.auth_failures_per_minute};
  mcp_options.metrics = &metrics;
  http::McpEndpoint endpoint(tool_registry, mcp_options);

  http::ServerOptions server_options{config.http_addr, config.max_body_bytes, config.http_threads, {}};
  server_options.connections.header_timeout = std::chrono::seconds(config.http_header_timeout_seconds);
  server_options.connections.body_timeout = std::chrono::seconds(config.http_body_timeout_seconds);
  server_options.connections.max_connections_per_peer = static_cast<std::size_t>(config.http_max_connections_per_peer);
  http::Server server(server_options, metrics);
  endpoint.mount(server.raw());
  http::mount_file_routes(server.raw(), workspaces, signer, metrics);
  http::mount_ops_routes(server.raw(), engine, catalog,
                         [&endpoint](const auto& request, auto& response) {
                           return endpoint.authenticate(request, response);
                         },
                         metrics,
                         http::OpsOptions{config.required_runners, config.metrics_public,
                                          [&] { metrics.set_sessions(endpoint.open_sessions()); }});
  if (auto bound = server.bind(); !bound) {
    spdlog::critical("{}", bound.error().message);
    return kCannotServe;
  }
  spdlog::info("mcp-sandbox listening on {} (port {}), public URL {}", config.http_addr, server.port(),
               public_base_url);

  WorkspaceSweeper sweeper(workspaces, sweep_policy(config), metrics);
  reaper.start(std::chrono::seconds(config.reaper_interval_seconds));

  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    // No new runs; runs in flight may finish within the grace period. The
    // listener stays open until then: closing it first left idle keep-alive
    // connections holding httplib's workers (e2e faults test).
    drain.close();
    spdlog::info("signal {}: stopping; {} run(s) in flight get {} s to finish", signal_number, drain.in_flight(),
                 config.shutdown_grace_seconds);
    const auto now = std::chrono::steady_clock::now();
    if (!drain.wait_idle(now + std::chrono::seconds(config.shutdown_grace_seconds))) {
      spdlog::warn("grace period over: killing and removing {} run(s)", drain.in_flight());
      drain.cancel_all();
      // Each run then kills and removes its container: a few engine calls.
      if (!drain.wait_idle(std::chrono::steady_clock::now() + 3 * std::chrono::seconds(config.engine_timeout_seconds))) {
        spdlog::error("{} run(s) did not end; the next start's reaper removes their containers", drain.in_flight());
      }
    }
    endpoint.shutdown();  // ends SSE streams and joins call threads
    server.stop();
  });
  server.run();
  // run() also returns when listening fails; make sure the stopper thread ends.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  sweeper.stop();
  // Warm containers hold their conversation's lease: remove them before the
  // last sweep, or their volumes stay mounted.
  executor.shutdown();
  reaper.stop();
  // A clean stop leaves no volume mounted (the next start mounts on first use);
  // after a crash the next start re-uses the mounts it finds.
  auto at_exit = sweep_policy(config);
  at_exit.unmount_idle_seconds = 0;
  for (const auto& problem : workspaces.sweep(at_exit).problems) spdlog::warn("at exit: {}", problem);
  spdlog::info("stopped");
  return 0;
}

}  // namespace cli
