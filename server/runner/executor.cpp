#include "runner/executor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <optional>

#include "core/encoding.hpp"
#include "core/random.hpp"
#include "runner/container_spec.hpp"
#include "runner/labels.hpp"
#include "runner/runner_limits.hpp"

namespace runner {
namespace {

using core::ErrorKind;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxEnvironmentEntries = 64;
constexpr milliseconds kWaitAfterExit{10000};
// A shell's status for a process killed by SIGKILL (128 + 9).
constexpr int kKilledStatus = 137;
constexpr milliseconds kProgressInterval{1000};

std::int64_t unix_millis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// An engine failure at `step`, phrased for the caller: engine trouble is
// "engine unavailable"; once the program started, any failure means the run
// was interrupted, and a container that is gone (removed from outside, engine
// restarted) is said so.
core::Error engine_failure(const core::Error& error, const std::string& step, bool started) {
  if (started && error.kind == ErrorKind::not_found) {
    return {ErrorKind::unavailable, "run interrupted: its container disappeared while " + step +
                                        " (removed from outside the server, or the engine restarted)"};
  }
  const bool engine_away = error.kind == ErrorKind::unavailable || error.kind == ErrorKind::timeout;
  core::Error phrased = engine_away ? core::Error{ErrorKind::unavailable, "engine unavailable while " + step + ": " +
                                                                             error.message}
                                    : error.with_context(step);
  return started ? phrased.with_context("run interrupted") : phrased;
}

// Pumps in slices so that progress can be reported and a cancellation seen
// while the program runs; returns at the end lines or EOF, at the deadline or when cancelled
// (by the client or by a shutdown).
// `delivered` runs once the code is handed to the container (a first slice with no wait: the
// socket takes a program's code at once), before any output is awaited.
core::Result<docker::PumpEnd> pump_until(docker::Attachment& attachment, const std::string& input,
                                         Clock::time_point deadline, docker::StreamDemux& output,
                                         const RunRequest& request, const std::stop_token& shutdown,
                                         const std::function<void()>& delivered) {
  const auto started = Clock::now();
  std::string_view pending = input;
  if (delivered) {
    auto handed = attachment.pump(pending, Clock::now(), output);
    pending = {};
    delivered();
    if (!handed || *handed != docker::PumpEnd::deadline) return handed;
  }
  while (true) {
    const auto slice_end = std::min(deadline, Clock::now() + kProgressInterval);
    auto pumped = attachment.pump(pending, slice_end, output);
    pending = {};
    if (!pumped || *pumped != docker::PumpEnd::deadline) return pumped;
    if (Clock::now() >= deadline || request.cancel.stop_requested() || shutdown.stop_requested()) {
      return docker::PumpEnd::deadline;
    }
    if (request.on_progress) request.on_progress(std::chrono::duration_cast<milliseconds>(Clock::now() - started));
  }
}

// Kills the container while still reading its output. A program flooding its
// output fills the engine's copy of it when nobody reads, and the engine only
// finishes a kill once that copy has drained: killing without reading hangs
// until the engine call's own deadline. Output past the caps is dropped.
core::Result<void> kill_while_draining(docker::Engine& engine, const std::string& id, docker::Attachment& attachment,
                                       docker::StreamDemux& output, milliseconds drain_after_kill) {
  auto killed = std::async(std::launch::async, [&engine, &id] { return engine.kill_container(id); });
  constexpr milliseconds kSlice{100};
  bool open = true;
  while (open && killed.wait_for(milliseconds(0)) != std::future_status::ready) {
    auto pumped = attachment.pump({}, Clock::now() + kSlice, output);
    open = pumped && *pumped == docker::PumpEnd::deadline;
  }
  auto result = killed.get();
  // Collect what was printed up to the kill; the stream closes right after.
  if (open) (void)attachment.pump({}, Clock::now() + drain_after_kill, output);
  return result;
}

}  // namespace

Executor::Executor(docker::Engine& engine, RunnerCatalog& catalog, ExecutorOptions options)
    : m_engine(engine), m_catalog(catalog), m_options(std::move(options)) {
  // ALLOW_NETWORK is the older switch for network access: it offers egress open.
  if (m_options.allow_network && !m_options.egress.offers(EgressPolicy::open)) {
    m_options.egress.offered.push_back(EgressPolicy::open);
  }
  if (m_options.warm_max > 0) {
    m_warm = std::make_unique<WarmPool>(
        m_engine, WarmPoolOptions{m_options.warm_max, m_options.warm_idle, std::chrono::milliseconds(1000), 2,
                                  m_options.warm_scheduler},
        m_options.warm_events);
  }
}

Executor::~Executor() { shutdown(); }

void Executor::shutdown() {
  if (m_warm) m_warm->shutdown();
}

std::size_t Executor::warm_idle() const { return m_warm ? m_warm->idle() : 0; }

int Executor::timeout_seconds(const Manifest& manifest, std::optional<int> requested) const {
  return limits_for(manifest, m_options.limits).timeout_for(requested);
}

RunIdentity Executor::new_identity() const {
  return RunIdentity{core::random_hex(8), m_options.instance_id, unix_millis()};
}

core::Result<void> Executor::check(const RunRequest& request) const {
  const auto max_code = static_cast<std::size_t>(m_options.limits.code_bytes);
  if (request.code.size() > max_code) {
    return core::fail(ErrorKind::invalid_argument, "code is " + std::to_string(request.code.size()) +
                                                       " bytes; the limit is " + std::to_string(max_code));
  }
  if (request.stdin_data.size() > max_code) {
    return core::fail(ErrorKind::invalid_argument, "stdin is " + std::to_string(request.stdin_data.size()) +
                                                       " bytes; the limit is " + std::to_string(max_code));
  }
  if (request.timeout_seconds && *request.timeout_seconds <= 0) {
    return core::fail(ErrorKind::invalid_argument, "timeout must be a positive number of seconds");
  }
  if (request.network && !m_options.egress.offers(EgressPolicy::open)) {
    return core::fail(ErrorKind::invalid_argument,
                      "network access is disabled by the operator's policy (ALLOW_NETWORK): egress 'open' is not "
                      "offered (EGRESS_POLICIES); run without it, or with an egress policy this server offers "
                      "(list_runners)");
  }
  if (request.environment.size() > kMaxEnvironmentEntries) {
    return core::fail(ErrorKind::invalid_argument, "at most 64 environment variables are allowed");
  }
  for (const auto& [name, value] : request.environment) {
    if (!core::valid_environment_name(name)) {
      return core::fail(ErrorKind::invalid_argument,
                        "environment variable name '" + name + "' is not of the form [A-Za-z_][A-Za-z0-9_]*");
    }
    if (value.find('\0') != std::string::npos) {
      return core::fail(ErrorKind::invalid_argument, "environment variable " + name + " contains a NUL byte");
    }
  }
  if (request.workspace.engine_path.empty()) {
    return core::fail(ErrorKind::internal, "run has no workspace");
  }
  return {};
}

core::Result<Runner> Executor::resolve(const std::string& language) {
  auto registry = m_catalog.current();
  const Runner* runner = registry->find(language);
  if (runner == nullptr) {
    // A runner image may have been built since the last look.
    if (auto refreshed = m_catalog.refresh(m_engine)) registry = *refreshed;
    runner = registry->find(language);
  }
  if (runner == nullptr) {
    return core::fail(ErrorKind::invalid_argument,
                      "unknown language '" + language + "'; available: " + registry->language_list());
  }
  return *runner;  // a copy: a refresh may replace the registry during the run
}

core::Result<void> Executor::egress_proxy_running(const std::string& network) {
  auto listed = m_engine.list_containers(std::string(labels::kKind) + "=" + labels::kKindEgressProxy);
  if (!listed) return core::fail(ErrorKind::unavailable, "egress unavailable: " + listed.error().message);
  for (const auto& container : *listed) {
    if (container.state == "running" &&
        std::find(container.networks.begin(), container.networks.end(), network) != container.networks.end()) {
      return {};
    }
  }
  return core::fail(ErrorKind::unavailable, "egress unavailable: no egress proxy is running on network " + network +
                                                " (a container labelled " + labels::kKind + "=" +
                                                labels::kKindEgressProxy + "; docs/security.md, Egress)");
}

core::Result<RunOutcome> Executor::run(const RunRequest& request) {
  if (auto checked = check(request); !checked) return core::fail(checked.error());
  // The pass outlives the container's removal below, so a drained server has
  // removed every run container (warm ones go with Executor::shutdown).
  const std::optional<RunDrain::Pass> pass =
      m_options.drain != nullptr ? m_options.drain->enter() : std::optional<RunDrain::Pass>();
  if (m_options.drain != nullptr && !pass) {
    return core::fail(ErrorKind::unavailable, "the server is shutting down; retry in a moment");
  }
  auto runner = resolve(request.language);
  if (!runner) return core::fail(runner.error());

  const auto limits = limits_for(runner->manifest, m_options.limits);
  const int timeout_seconds = limits.timeout_for(request.timeout_seconds);
  const auto identity = new_identity();
  auto spec = spec_for(runner->manifest, request, identity);

  // A run with egress joins the internal network whose only way out is the proxy, with a grant
  // that is in force exactly while the run is (removed on every path by `grant`).
  const auto policy = request.network ? EgressPolicy::open : request.egress;
  auto plan = plan_egress(m_options.egress, runner->manifest, policy, identity.run_id);
  if (!plan) return core::fail(plan.error());
  struct GrantInForce {
    std::optional<egress::GrantDirectory> directory;
    std::string run_id;
    ~GrantInForce() {
      if (directory) directory->remove(run_id);
    }
  } grant;
  if (plan->policy != EgressPolicy::none) {
    // A run whose only way out is not there would fail inside, in words of its own client, and
    // only after its name lookups time out: say so now instead.
    if (auto proxy = egress_proxy_running(plan->network); !proxy) return core::fail(proxy.error());
    spec.network_disabled = false;
    spec.network_mode = plan->network;
    // The engine's embedded DNS (127.0.0.11, there on every user-defined network) forwards names
    // it does not know to the container's upstreams; on Engine < 26 with a loopback resolver on
    // the host it does so from the host's namespace (CVE-2024-29018), a way out past the proxy.
    // A user-set 127.0.0.1 is dialled inside the run's own namespace, where nothing answers but
    // the run itself: outside names resolve nowhere, while the proxy's name still does.
    spec.dns = {"127.0.0.1"};
    spec.env.insert(spec.env.end(), plan->environment.begin(), plan->environment.end());
    const egress::GrantDirectory directory(m_options.egress.grants_dir);
    if (auto put = directory.prepare().and_then([&] { return directory.put(plan->grant); }); !put) {
      return core::fail(ErrorKind::unavailable, "egress unavailable: " + put.error().message);
    }
    grant.directory = directory;
    grant.run_id = identity.run_id;
  }

  std::optional<StartedContainer> warm;
  // Warm containers have no network; a run with egress always starts its own.
  if (m_warm && plan->policy == EgressPolicy::none) {
    if (request.borrowed && lends_pooled()) {
      // The pooled container was made for its own directory: its spec is the one to match.
      RunRequest as_made;
      as_made.workspace = *request.borrowed;
      as_made.environment = request.environment;
      warm = m_warm->claim(request.borrowed->name, runner->manifest.language,
                           spec_fingerprint(spec_for(runner->manifest, as_made, identity)));
    }
    if (!warm) warm = m_warm->claim(request.workspace.name, runner->manifest.language, spec_fingerprint(spec));
  }
  StartedContainer container;
  if (warm) {
    container = std::move(*warm);
  } else {
    auto started = start_run_container(m_engine, spec, identity, m_options.tracked);
    if (!started && plan->policy != EgressPolicy::none && started.error().kind == ErrorKind::not_found) {
      return core::fail(ErrorKind::unavailable, "egress unavailable: " + started.error().message +
                                                    " (is the egress proxy deployed on network " + plan->network + "?)");
    }
    if (!started) {
      const auto& error = started.error();
      const bool engine_away = error.kind == ErrorKind::unavailable || error.kind == ErrorKind::timeout;
      return core::fail(engine_away ? core::Error{ErrorKind::unavailable, "engine unavailable while " + error.message}
                                    : error);
    }
    container = std::move(*started);
  }
  // The conversation's next container starts as soon as this run's code is handed over, while the
  // program runs, so a call sent right after the answer finds it ready (a start takes longer than
  // most programs). Not before: the start's burst of engine CPU (runc, containerd) would compete
  // with the program's own start-up on a small host, and the program needs its code first. The pool
  // keeps at most one per conversation. A run with egress has no warm successor: such runs are the
  // exception.
  std::function<void()> start_successor;
  if (m_warm && !request.cancel.stop_requested() && plan->policy == EgressPolicy::none) {
    start_successor = [this, &request, &runner] { prewarm(request.workspace, runner->manifest, request.environment); };
  }
  auto outcome = execute(container, request, *runner, timeout_seconds, start_successor);
  if (m_warm) {
    m_warm->retire(std::move(container));  // removed in the background, off the answer's path
    // A cancelled run's client is gone: its successor would only wait for the idle timeout.
    if (request.cancel.stop_requested()) m_warm->drop(request.workspace.name, discard_reason::kCancelled);
  } else {
    remove_run_container(m_engine, container);
  }
  return outcome;
}

void Executor::prewarm(const sandbox::Workspace& workspace) {
  if (!m_warm) return;
  const auto language = m_warm->last_language(workspace.name);
  if (!language) return;
  const Runner* runner = m_catalog.current()->find(*language);
  if (runner != nullptr) prewarm(workspace, runner->manifest, {});
}

bool Executor::prewarm(const sandbox::Workspace& workspace, const Manifest& manifest,
                       const std::map<std::string, std::string>& environment, WarmFor purpose) {
  if (!m_warm || workspace.engine_path.empty()) return false;
  // Built exactly as run() builds it for a run with this environment and no
  // network, so its fingerprint matches such a run; only the image is pinned by id.
  return m_warm->prepare(workspace.name, manifest.language, manifest.image, [this, workspace, manifest, environment] {
    RunRequest request;
    request.language = manifest.language;
    request.workspace = workspace;
    request.environment = environment;
    auto image = m_warm->image_for_start(manifest.image);
    if (!image) return core::Result<StartedContainer>(core::fail(image.error().with_context("finding the runner image")));
    const auto identity = new_identity();
    auto spec = spec_for(manifest, request, identity);
    spec.image = *image;
    auto started = start_run_container(m_engine, spec, identity, m_options.tracked);
    if (started) started->image_id = *image;
    return started;
  }, purpose);
}

bool Executor::prewarm_new(const sandbox::Workspace& workspace, const std::string& language) {
  if (!m_warm) return false;
  const auto registry = m_catalog.current();
  const Runner* runner = registry->find(language);
  if (runner == nullptr) return false;
  return prewarm(workspace, runner->manifest, {}, WarmFor::new_conversation);
}

bool Executor::warm_room_for_new() const { return m_warm && m_warm->has_room(WarmFor::new_conversation); }

std::optional<std::string> Executor::language_name(const std::string& language) const {
  const auto registry = m_catalog.current();
  const Runner* runner = registry->find(language);
  if (runner == nullptr) return std::nullopt;
  return runner->manifest.language;
}

bool Executor::warm_holds(const std::string& workspace_name) const {
  return m_warm && m_warm->holds(workspace_name);
}

bool Executor::warm_ready(const std::string& workspace_name) const {
  return m_warm && m_warm->ready(workspace_name);
}

docker::ContainerSpec Executor::spec_for(const Manifest& manifest, const RunRequest& request,
                                         const RunIdentity& identity) const {
  auto spec = build_container_spec(manifest, request, limits_for(manifest, m_options.limits), m_options.runtime, false,
                                   identity);
  if (m_options.data_follows_mounts) spec.binds = {request.workspace.engine_path + ":/data:rw,rslave"};
  return spec;
}

void Executor::warm_drop(const std::string& workspace_name, std::string_view reason) {
  if (m_warm) m_warm->drop(workspace_name, reason);
}

core::Result<RunOutcome> Executor::execute(StartedContainer& container, const RunRequest& request,
                                           const Runner& runner, int timeout_seconds,
                                           const std::function<void()>& delivered) {
  const std::string& id = container.id;
  auto& attachment = *container.attachment;
  const auto output_cap = static_cast<std::size_t>(m_options.limits.output_bytes);
  docker::StreamDemux output(output_cap, output_cap);
  const std::string end_token = core::random_hex(16);
  output.end_at_line(end_token);
  // The deadline counts from code delivery: a warm container's wait before it is not the run's.
  const auto started_at = Clock::now();
  const auto deadline = started_at + std::chrono::seconds(timeout_seconds);
  RunOutcome outcome;
  outcome.run_id = container.identity.run_id;
  outcome.language = runner.manifest.language;

  const std::stop_token server_stopping = m_options.drain != nullptr ? m_options.drain->stop_token() : std::stop_token();
  auto pumped = pump_until(attachment, frame_input(end_token, request.files_url, request.code, request.stdin_data),
                           deadline, output, request, server_stopping, delivered);
  if (!pumped) return core::fail(engine_failure(pumped.error(), "reading the program's output", true));
  if (request.cancel.stop_requested()) {
    (void)kill_while_draining(m_engine, id, attachment, output, m_options.drain_after_kill);
    return core::fail(ErrorKind::timeout, "run cancelled by the client");
  }
  if (server_stopping.stop_requested()) {
    (void)kill_while_draining(m_engine, id, attachment, output, m_options.drain_after_kill);
    return core::fail(ErrorKind::unavailable,
                      "run interrupted: the server is shutting down and its grace period for runs ended");
  }

  outcome.timed_out = *pumped == docker::PumpEnd::deadline;
  // The bootstrap's end lines say the program exited, with which status, and that its output is
  // complete: the answer need not wait the ~75 ms the engine takes to process the container's
  // exit (the container is removed in the background like any other). One inspect still reads the
  // OOM flag, which the engine sets when the kernel kills a process for memory, before any exit. A
  // program killed by SIGKILL (status 137) may itself be the memory limit's victim: that case
  // waits for the engine, whose flag is then certain.
  const auto reported = output.end_status();
  const bool ended_by_itself = *pumped == docker::PumpEnd::end_line && reported && *reported != kKilledStatus;
  int exit_code = reported.value_or(0);
  if (!ended_by_itself) {
    // Without end lines (the bootstrap was killed, or the output closed before the process
    // ended) the engine's wait says how it ended, bounded by what is left of the deadline too.
    auto waited = wait_for_exit(id, attachment, output, deadline, outcome.timed_out);
    if (!waited) return core::fail(waited.error());
    exit_code = *waited;
  }
  outcome.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at);

  auto state = m_engine.inspect_container(id);
  if (!state) return core::fail(engine_failure(state.error(), "reading the run container's state", true));
  // `docker rm -f` marks the container "removing" before it kills it: the
  // program did not die of its own accord, so its exit code means nothing.
  if (state->status == "removing" || state->status == "dead") {
    return core::fail(ErrorKind::unavailable, "run interrupted: its container was removed from outside the server (state " +
                                                  state->status + ")");
  }
  output.finish();
  outcome.exit_code = exit_code;
  outcome.oom_killed = state->oom_killed;
  outcome.truncated = output.truncated();
  outcome.stdout_data = output.out();
  outcome.stderr_data = output.err();
  return outcome;
}

core::Result<int> Executor::wait_for_exit(const std::string& id, docker::Attachment& attachment,
                                          docker::StreamDemux& output, Clock::time_point deadline, bool& timed_out) {
  core::Result<docker::WaitResult> waited;
  if (!timed_out) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    waited = m_engine.wait_container(id, std::max(remaining, milliseconds(1)));
    timed_out = !waited && waited.error().kind == ErrorKind::timeout;
  }
  if (timed_out) {
    if (auto killed = kill_while_draining(m_engine, id, attachment, output, m_options.drain_after_kill); !killed) {
      return core::fail(engine_failure(killed.error(), "killing the run container at its deadline", true));
    }
    waited = m_engine.wait_container(id, kWaitAfterExit);
  }
  if (!waited) return core::fail(engine_failure(waited.error(), "waiting for the run container", true));
  return waited->status_code;
}

}  // namespace runner
