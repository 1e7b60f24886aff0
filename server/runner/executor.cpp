#include "runner/executor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <regex>

#include "core/random.hpp"
#include "runner/container_spec.hpp"

namespace runner {
namespace {

using core::ErrorKind;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxEnvironmentEntries = 64;
constexpr milliseconds kWaitAfterExit{10000};
constexpr milliseconds kProgressInterval{1000};

// Removes the container when the run leaves scope, whatever the path.
class ContainerGuard {
 public:
  ContainerGuard(docker::Engine& engine, std::string id) : m_engine(engine), m_id(std::move(id)) {}
  ContainerGuard(const ContainerGuard&) = delete;
  ContainerGuard& operator=(const ContainerGuard&) = delete;
  ~ContainerGuard() {
    if (auto removed = m_engine.remove_container(m_id); !removed) {
      // The reaper finds it later by its labels; say so once here.
      spdlog::warn("run container {} not removed ({}): {}", m_id.substr(0, 12), core::to_string(removed.error().kind),
                   removed.error().message);
    }
  }

 private:
  docker::Engine& m_engine;
  std::string m_id;
};

std::int64_t unix_millis() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool valid_env_name(const std::string& name) {
  static const std::regex pattern("[A-Za-z_][A-Za-z0-9_]{0,127}");
  return std::regex_match(name, pattern);
}

// Pumps in slices so that progress can be reported and a cancellation seen
// while the program runs; returns at EOF, at the deadline or when cancelled.
core::Result<docker::PumpEnd> pump_until(docker::Attachment& attachment, const std::string& input,
                                         Clock::time_point deadline, docker::StreamDemux& output,
                                         const RunRequest& request) {
  const auto started = Clock::now();
  std::string_view pending = input;
  while (true) {
    const auto slice_end = std::min(deadline, Clock::now() + kProgressInterval);
    auto pumped = attachment.pump(pending, slice_end, output);
    pending = {};
    if (!pumped || *pumped == docker::PumpEnd::eof) return pumped;
    if (Clock::now() >= deadline || request.cancel.stop_requested()) return docker::PumpEnd::deadline;
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
    : m_engine(engine), m_catalog(catalog), m_options(std::move(options)) {}

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
  if (request.network && !m_options.allow_network) {
    return core::fail(ErrorKind::invalid_argument,
                      "network access is disabled by the operator's policy (ALLOW_NETWORK); run without it");
  }
  if (request.environment.size() > kMaxEnvironmentEntries) {
    return core::fail(ErrorKind::invalid_argument, "at most 64 environment variables are allowed");
  }
  for (const auto& [name, value] : request.environment) {
    if (!valid_env_name(name)) {
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

core::Result<RunOutcome> Executor::run(const RunRequest& request) {
  if (auto checked = check(request); !checked) return core::fail(checked.error());
  auto registry = m_catalog.current();
  const Runner* runner = registry->find(request.language);
  if (runner == nullptr) {
    // A runner image may have been built since the last look.
    if (auto refreshed = m_catalog.refresh(m_engine)) registry = *refreshed;
    runner = registry->find(request.language);
  }
  if (runner == nullptr) {
    return core::fail(ErrorKind::invalid_argument, "unknown language '" + request.language +
                                                       "'; available: " + registry->language_list());
  }

  const int cap = m_options.limits.timeout_seconds;
  const int timeout_seconds = std::min(request.timeout_seconds.value_or(cap), cap);
  const RunIdentity identity{core::random_hex(8), m_options.instance_id, unix_millis()};
  const auto spec = build_container_spec(runner->manifest, request, m_options.limits, m_options.runtime,
                                         request.network, identity);

  // Tracked before the container exists and until after it is removed
  // (the ticket outlives the guard), so the reaper never takes a live run.
  TrackedContainers::Ticket ticket;
  if (m_options.tracked != nullptr) ticket = m_options.tracked->track(identity.run_id);
  auto id = m_engine.create_container(spec);
  if (!id) return core::fail(id.error().with_context("creating the " + runner->manifest.language + " container"));
  ContainerGuard guard(m_engine, *id);

  // Attach before start so not a byte of output is missed.
  auto attachment = m_engine.attach(*id);
  if (!attachment) return core::fail(attachment.error().with_context("attaching to the run container"));
  if (auto started = m_engine.start_container(*id); !started) {
    return core::fail(started.error().with_context("starting the run container"));
  }

  const auto output_cap = static_cast<std::size_t>(m_options.limits.output_bytes);
  docker::StreamDemux output(output_cap, output_cap);
  const auto started_at = Clock::now();
  const auto deadline = started_at + std::chrono::seconds(timeout_seconds);
  RunOutcome outcome;
  outcome.run_id = identity.run_id;
  outcome.language = runner->manifest.language;

  auto pumped = pump_until(**attachment, frame_input(request.code, request.stdin_data), deadline, output, request);
  if (!pumped) return core::fail(pumped.error().with_context("run interrupted: reading the program's output"));
  if (request.cancel.stop_requested()) {
    (void)kill_while_draining(m_engine, *id, **attachment, output, m_options.drain_after_kill);
    return core::fail(ErrorKind::timeout, "run cancelled by the client");
  }

  // The output can close before the process ends (a program may close its
  // stdout), so the wait is bounded by what is left of the deadline too.
  outcome.timed_out = *pumped == docker::PumpEnd::deadline;
  core::Result<docker::WaitResult> waited;
  if (!outcome.timed_out) {
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    waited = m_engine.wait_container(*id, std::max(remaining, milliseconds(1)));
    outcome.timed_out = !waited && waited.error().kind == ErrorKind::timeout;
  }
  if (outcome.timed_out) {
    if (auto killed = kill_while_draining(m_engine, *id, **attachment, output, m_options.drain_after_kill); !killed) {
      return core::fail(killed.error().with_context("killing the run container at its deadline"));
    }
    waited = m_engine.wait_container(*id, kWaitAfterExit);
  }
  outcome.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started_at);
  if (!waited) return core::fail(waited.error().with_context("waiting for the run container"));

  auto state = m_engine.inspect_container(*id);
  if (!state) return core::fail(state.error().with_context("reading the run container's state"));
  outcome.exit_code = waited->status_code;
  outcome.oom_killed = state->oom_killed;
  outcome.truncated = output.truncated();
  outcome.stdout_data = output.out();
  outcome.stderr_data = output.err();
  return outcome;
}

}  // namespace runner
