#include "cli/serve.hpp"

#include "cli/sweeper.hpp"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <thread>

#include "cli/oauth_service.hpp"
#include "cli/sandbox_probe.hpp"
#include "core/version.hpp"
#include "docker/observed_engine.hpp"
#include "http/server.hpp"
#include "mcp/tool.hpp"
#include "metrics/metrics.hpp"
#include "routes/file_routes.hpp"
#include "routes/ops_routes.hpp"
#include "runner/executor.hpp"
#include "runner/new_conversation_pool.hpp"
#include "runner/instance_id.hpp"
#include "runner/reaper.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/data_attach.hpp"
#include "sandbox/root_lock.hpp"
#include "tools/file_resources.hpp"
#include "tools/tools.hpp"
#include "transport/mcp_endpoint.hpp"

namespace cli {
namespace {

constexpr int kBadConfig = 2;
constexpr int kCannotServe = 1;

// A step that could not be taken: the exit status, after its reason was logged.
struct Refusal {
  int status = kCannotServe;
};
template <typename T>
using Step = tl::expected<T, Refusal>;

tl::unexpected<Refusal> refuse(int status, const std::string& message) {
  spdlog::critical("{}", message);
  return tl::unexpected(Refusal{status});
}

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

Step<void> check_secrets(const config::Config& config) {
  const auto problems = config::validate_secrets(config);
  if (problems.empty()) return {};
  for (const auto& problem : problems) spdlog::critical("refusing to start: {}", problem);
  return tl::unexpected(Refusal{kBadConfig});
}

// PUBLIC_BASE_URL, or the listen address as a URL (download links then only work locally).
Step<std::string> public_base_url(const config::Config& config) {
  if (!config.public_base_url.empty()) return config.public_base_url;
  auto address = http::parse_listen_address(config.http_addr);
  if (!address) return refuse(kBadConfig, address.error().message);
  const auto host = address->first == "0.0.0.0" ? std::string("127.0.0.1") : address->first;
  std::string url = "http://" + host + ":" + std::to_string(address->second);
  spdlog::warn("PUBLIC_BASE_URL is not set; download links will use {}", url);
  return url;
}

// The sandbox root is ready, ours alone (one server per root), and its quotas enforceable.
Step<sandbox::RootLock> prepare_storage(const config::Config& config, sandbox::Workspaces& workspaces) {
  if (auto ready = workspaces.prepare_root(); !ready) return refuse(kCannotServe, ready.error().message);
  // Before anything touches the root's containers or volumes: one server per root.
  auto root_lock = sandbox::RootLock::acquire(config.sandbox_root);
  if (!root_lock) return refuse(kCannotServe, "refusing to start: " + root_lock.error().message);
  // Quotas configured but not enforceable here: refuse, never fall back to unlimited directories.
  if (auto quotas = workspaces.check_quota_support(); !quotas) return refuse(kCannotServe, quotas.error().message);
  if (config.quota_mb > 0) {
    spdlog::info("conversation storage: {} MiB and {} files each (loop-mounted ext4 volumes)", config.quota_mb,
                 config.quota_files);
  } else {
    spdlog::warn("SANDBOX_QUOTA_MB=0: conversation storage is not limited; a run can fill the disk");
  }
  return std::move(*root_lock);
}

// The runner images, checked by one probe run: runs would fail one by one if the engine
// bind-mounted another directory than the one we write (a wrong SANDBOX_HOST_PATH).
Step<runner::Registry> discover_runners(const config::Config& config, docker::Engine& engine) {
  auto discovered = runner::Registry::discover(engine);
  if (!discovered) return refuse(kCannotServe, "cannot list runner images: " + discovered.error().message);
  for (const auto& problem : discovered->problems()) spdlog::warn("runner image ignored: {}", problem);
  auto probe = probe_sandbox(config, engine, *discovered, "");
  if (!probe || !probe->problem.empty()) {
    return refuse(kCannotServe, "refusing to start: " + (probe ? probe->problem : probe.error().message));
  }
  spdlog::info("sandbox root {} is writable and the engine sees it as {} ({} ms probe run)", config.sandbox_root,
               config.engine_sandbox_path(), probe->outcome.duration.count());
  spdlog::info("runners: {}", discovered->language_list());
  return std::move(*discovered);
}

// Whether started containers may be lent to calls whose conversation's next one is not ready
// (WARM_LEND): where this process can make the sandbox root's mounts reach containers and a probe
// saw it work. Otherwise those calls wait for their own container, as they always could.
// `made_shared` says whether the root was bound onto itself for it (undone at exit).
bool lending_works(const config::Config& config, docker::Engine& engine, const runner::Registry& registry,
                   bool& made_shared) {
  made_shared = false;
  if (config.warm_lend == "off" || config.warm_max == 0 || config.warm_new_per_language == 0) return false;
  const auto off = [](const core::Error& why) {
    spdlog::info("WARM_LEND: off here ({}); a call sent right after the previous answer waits for its own container",
                 why.message);
    return false;
  };
  auto shared = sandbox::share_mounts_under(config.sandbox_root);
  if (!shared) return off(shared.error());
  if (*shared) spdlog::info("sandbox root {} bound onto itself as a shared mount (WARM_LEND)", config.sandbox_root);
  if (auto probed = probe_lending(config, engine, registry); !probed) {
    if (*shared) (void)sandbox::unshare_mounts_under(config.sandbox_root);
    return off(probed.error());
  }
  made_shared = *shared;
  spdlog::info("WARM_LEND: on; a call whose conversation's next container is not ready borrows a started one");
  return true;
}

runner::ExecutorOptions executor_options(const config::Config& config, const std::string& instance_id,
                                         runner::TrackedContainers& tracked, runner::RunDrain& drain,
                                         metrics::Metrics& metrics) {
  runner::ExecutorOptions options{config.limits, config.runner_runtime, config.allow_network, instance_id, &tracked};
  options.drain = &drain;
  options.egress = runner::egress_settings(config);
  options.warm_max = static_cast<std::size_t>(config.warm_max);
  options.warm_idle = std::chrono::seconds(config.warm_idle_seconds);
  options.warm_events = runner::WarmPoolEvents{
      [&metrics](std::size_t idle) { metrics.set_warm_idle(idle); },
      [&metrics](bool hit) { metrics.warm_claim(hit); },
      [&metrics](std::string_view reason) { metrics.warm_discard(reason); }};
  return options;
}

runner::AdmissionLimits admission_limits(const config::Config& config) {
  const auto running = config.max_concurrent_runs > 0
                           ? static_cast<std::size_t>(config.max_concurrent_runs)
                           : runner::default_max_running(std::thread::hardware_concurrency(), config.limits.cpus);
  runner::AdmissionLimits limits{running, static_cast<std::size_t>(config.max_queued_runs),
                                 std::chrono::seconds(config.run_queue_timeout_seconds)};
  spdlog::info("capacity: {} runs at once, {} queued for at most {} s", limits.max_running, limits.max_queued,
               config.run_queue_timeout_seconds);
  return limits;
}

transport::McpEndpointOptions endpoint_options(const config::Config& config, metrics::Metrics& metrics) {
  transport::McpEndpointOptions options;
  options.api_tokens = config.api_tokens;
  options.allowed_origins = config.allowed_origins;
  options.server_version = std::string(core::kVersion);
  options.instructions =
      "Run code with run_code (python, typescript, javascript, bash). Files persist per conversationId in /data; "
      "pass back the conversationId you get. Upload inputs with upload_file; results come back as download URLs.";
  options.session_idle_timeout = std::chrono::seconds(config.session_idle_seconds);
  options.max_sessions = static_cast<std::size_t>(config.max_sessions);
  options.limits = transport::ClientLimitOptions{config.rate_limit_calls_per_minute, config.auth_failures_per_minute};
  options.metrics = &metrics;
  return options;
}

Step<http::ServerOptions> http_options(const config::Config& config) {
  http::ServerOptions options;
  options.address = config.http_addr;
  options.max_body_bytes = config.max_body_bytes;
  options.threads = config.http_threads;
  options.connections.header_timeout = std::chrono::seconds(config.http_header_timeout_seconds);
  options.connections.body_timeout = std::chrono::seconds(config.http_body_timeout_seconds);
  options.connections.max_connections_per_peer = static_cast<std::size_t>(config.http_max_connections_per_peer);
  auto proxies = http::TrustedProxies::parse(config.trusted_proxies);
  if (!proxies) return refuse(kBadConfig, proxies.error().message);
  options.trusted_proxies = std::move(*proxies);
  return options;
}

// On SIGTERM/SIGINT: no new runs, runs in flight get the grace period, then the MCP endpoint and
// the listener stop (docs/operations.md). The listener stays open until then: closing it first left
// idle keep-alive connections holding workers (e2e faults test).
class StopOnSignal {
 public:
  StopOnSignal(const sigset_t& signals, const config::Config& config, runner::RunDrain& drain,
               transport::McpEndpoint& endpoint, http::Server& server)
      : m_thread([&signals, &config, &drain, &endpoint, &server] {
          int signal_number = 0;
          sigwait(&signals, &signal_number);
          drain.close();
          spdlog::info("signal {}: stopping; {} run(s) in flight get {} s to finish", signal_number, drain.in_flight(),
                       config.shutdown_grace_seconds);
          const auto now = std::chrono::steady_clock::now();
          if (!drain.wait_idle(now + std::chrono::seconds(config.shutdown_grace_seconds))) {
            spdlog::warn("grace period over: killing and removing {} run(s)", drain.in_flight());
            drain.cancel_all();
            // Each run then kills and removes its container: a few engine calls.
            const auto removal = 3 * std::chrono::seconds(config.engine_timeout_seconds);
            if (!drain.wait_idle(std::chrono::steady_clock::now() + removal)) {
              spdlog::error("{} run(s) did not end; the next start's reaper removes their containers",
                            drain.in_flight());
            }
          }
          endpoint.shutdown();  // ends SSE streams and joins call threads
          server.stop();
        }) {}
  /// server.run() also returns when listening fails: make sure the thread ends either way.
  ~StopOnSignal() {
    pthread_kill(m_thread.native_handle(), SIGTERM);
    m_thread.join();
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  std::thread m_thread;
};

// A clean stop leaves no volume mounted (the next start mounts on first use); after a crash the
// next start re-uses the mounts it finds.
void unmount_all(const config::Config& config, sandbox::Workspaces& workspaces) {
  auto at_exit = sweep_policy(config);
  at_exit.unmount_idle_seconds = 0;
  for (const auto& problem : workspaces.sweep(at_exit).problems) spdlog::warn("at exit: {}", problem);
}

Step<int> serve_steps(const config::Config& config, docker::Engine& raw_engine) {
  // glibc gives each busy thread its own malloc arena (up to 8 per core); with a 64-thread HTTP
  // pool that is resident memory that only grows. Two arenas are plenty for a server whose time
  // goes to waiting on the engine.
  mallopt(M_ARENA_MAX, 2);
  if (auto secrets = check_secrets(config); !secrets) return tl::unexpected(secrets.error());
  const auto base_url = public_base_url(config);
  if (!base_url) return tl::unexpected(base_url.error());
  const sigset_t stop_signals = block_stop_signals();

  metrics::Metrics metrics;
  docker::ObservedEngine engine(raw_engine, [&metrics](std::string_view call, const core::Error* error,
                                                       std::chrono::duration<double> took) {
    metrics.engine_call(call, error != nullptr ? core::to_string(error->kind) : std::string_view(), took.count());
  });
  // One conversation index for the server: where conversations live (Workspaces) and which ones each
  // caller used (recorded by the tools, listed by resources/list).
  auto opened_index = sandbox::ConversationIndex::open(config.state_directory(), sandbox::kConversationsPerCaller);
  if (!opened_index) return refuse(kCannotServe, "refusing to start: " + opened_index.error().message);
  const std::shared_ptr<sandbox::ConversationIndex> conversation_index = std::move(*opened_index);
  sandbox::Workspaces workspaces(config.sandbox_root, config.engine_sandbox_path(), config.file_secret,
                                 workspace_options(config, conversation_index));
  const auto root_lock = prepare_storage(config, workspaces);
  if (!root_lock) return tl::unexpected(root_lock.error());
  // After the root lock: the database in STATE_DIR is then this server's alone.
  auto oauth_service = start_oauth(config, *base_url, metrics);
  if (!oauth_service) return refuse(kCannotServe, "refusing to start: " + oauth_service.error().message);
  auto discovered = discover_runners(config, engine);
  if (!discovered) return tl::unexpected(discovered.error());
  runner::RunnerCatalog catalog(std::move(*discovered));

  // Stable across restarts, so the reaper recognises what a killed predecessor left behind.
  const auto instance_id = runner::resolve_instance_id(config.sandbox_root, config.instance_id);
  if (!instance_id) return refuse(kCannotServe, instance_id.error().message);
  spdlog::info("instance id {}", *instance_id);
  runner::TrackedContainers tracked;
  runner::RunDrain drain;
  bool root_made_shared = false;
  auto options = executor_options(config, *instance_id, tracked, drain, metrics);
  options.data_follows_mounts = lending_works(config, engine, *catalog.current(), root_made_shared);
  runner::Executor executor(engine, catalog, std::move(options));
  runner::Reaper reaper(engine, tracked, *instance_id, [&metrics](std::size_t reaped) {
    if (reaped > 0) metrics.containers_reaped(reaped);
  });
  sandbox::UrlSigner signer(config.file_secret, *base_url, std::chrono::seconds(config.file_url_ttl_seconds));
  runner::Admission admission(
      admission_limits(config),
      runner::Admission::Observer{
          [&metrics](const runner::AdmissionCounts& counts) { metrics.set_admission(counts.running, counts.queued); },
          [&metrics](std::string_view reason) { metrics.run_rejected(reason); }});

  tools::Services services{executor,
                           admission,
                           catalog,
                           workspaces,
                           signer,
                           metrics,
                           config.limits,
                           *base_url,
                           tools::ResultLimits{config.inline_image_bytes, 4, config.read_file_bytes, 200}};
  // Files as MCP resources: what tools change is announced here, and listed from the conversations in use.
  mcp::ResourceEvents resource_events;
  tools::ActiveConversations active_conversations;
  services.resource_events = &resource_events;
  services.active = &active_conversations;
  const tools::FileResources file_resources(services, active_conversations, conversation_index.get());
  // Started containers for conversations that do not exist yet (they live in the warm pool).
  std::optional<runner::NewConversationPool> new_conversations;
  if (config.warm_max > 0 && config.warm_new_per_language > 0) {
    new_conversations.emplace(
        executor, workspaces,
        runner::NewConversationPoolOptions{
            static_cast<std::size_t>(config.warm_new_per_language), std::chrono::seconds(config.warm_new_idle_seconds),
            std::chrono::milliseconds(1000)},
        runner::NewConversationPoolEvents{[&metrics](bool hit) { metrics.warm_new_conversation(hit); },
                                          [&metrics](std::size_t pooled) { metrics.set_warm_new_ready(pooled); },
                                          [&metrics] { metrics.warm_lent(); }});
    services.new_conversations = &*new_conversations;
  }
  mcp::ToolRegistry tool_registry;
  tools::register_tools(tool_registry, services);
  auto mcp_options = endpoint_options(config, metrics);
  if (*oauth_service) {
    mcp_options.token_verifier = (*oauth_service)->verifier();
    mcp_options.challenge = (*oauth_service)->challenge();
  }
  mcp_options.resources = mcp::ResourceSupport{&file_resources, &resource_events};
  transport::McpEndpoint endpoint(tool_registry, std::move(mcp_options));

  auto server_options = http_options(config);
  if (!server_options) return tl::unexpected(server_options.error());
  http::Server server(std::move(*server_options), metrics);
  endpoint.mount(server.routes());
  if (*oauth_service) (*oauth_service)->endpoints->mount(server.routes());
  routes::mount_file_routes(server.routes(), workspaces, signer, metrics);
  routes::mount_ops_routes(
      server.routes(), engine, catalog,
      [&endpoint](http::Request& request, http::Response& response) { return endpoint.authenticate(request, response); },
      metrics,
      routes::OpsOptions{config.required_runners, config.metrics_public,
                         [&] { metrics.set_sessions(endpoint.open_sessions()); }});
  if (auto bound = server.bind(); !bound) return refuse(kCannotServe, bound.error().message);
  spdlog::info("mcp-sandbox listening on {} (port {}), public URL {}", config.http_addr, server.port(), *base_url);

  WorkspaceSweeper sweeper(workspaces, sweep_policy(config), metrics);
  reaper.start(std::chrono::seconds(config.reaper_interval_seconds));
  {
    const StopOnSignal stopper(stop_signals, config, drain, endpoint, server);
    server.run();
  }
  sweeper.stop();
  // Warm containers hold their conversation's lease: remove them before the last sweep, or their
  // volumes stay mounted. Pooled directories of new conversations go with theirs.
  if (new_conversations) new_conversations->shutdown();
  executor.shutdown();
  reaper.stop();
  unmount_all(config, workspaces);
  if (root_made_shared) {
    if (auto unshared = sandbox::unshare_mounts_under(config.sandbox_root); !unshared) {
      spdlog::warn("{}", unshared.error().message);
    }
  }
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int serve(const config::Config& config, docker::Engine& engine) {
  const auto served = serve_steps(config, engine);
  return served ? *served : served.error().status;
}

}  // namespace cli
