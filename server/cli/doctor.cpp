#include "cli/doctor.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <ostream>
#include <sstream>

#include "cli/doctor_limits.hpp"
#include "cli/sandbox_probe.hpp"

namespace cli {
namespace {

// The run's cue that doctor has read the engine's view and it may end.
constexpr const char* kObservedFile = ".doctor-observed";

class Report {
 public:
  explicit Report(std::ostream& out) : m_out(out) {}
  void ok(const std::string& check, const std::string& detail) { line("ok  ", check, detail); }
  void fail(const std::string& check, const std::string& detail, const std::string& fix) {
    line("FAIL", check, detail + (fix.empty() ? "" : " -> " + fix));
    m_failed = true;
  }
  [[nodiscard]] bool failed() const { return m_failed; }

 private:
  void line(const char* status, const std::string& check, const std::string& detail) {
    std::string padded = check;
    padded.resize(std::max<std::size_t>(padded.size(), 10), ' ');
    m_out << status << "  " << padded << "  " << detail << "\n" << std::flush;
  }
  std::ostream& m_out;
  bool m_failed = false;
};

// With a quota the run's /data must be the conversation's own volume, not the
// directory under it: the engine must see our mount (mount propagation).
void check_mounted_volume(const std::string& data_fs, const std::optional<sandbox::VolumeUsage>& usage,
                          Report& report) {
  if (!usage) return;
  std::istringstream in(data_fs);
  std::int64_t blocks = 0;
  std::int64_t block_size = 0;
  in >> blocks >> block_size;
  if (blocks * block_size == usage->total_bytes) {
    report.ok("quota", "a run's /data is the conversation's own " + std::to_string(usage->total_bytes >> 20) +
                           " MiB volume");
  } else {
    report.fail("quota",
                "a run's /data is " + std::to_string(blocks * block_size) + " bytes, the conversation's volume " +
                    std::to_string(usage->total_bytes),
                "the engine does not see mounts under SANDBOX_ROOT; bind it with rshared propagation");
  }
}

void report_verdict(const std::string& check, const doctor_limits::Verdict& verdict, const std::string& fix,
                    Report& report) {
  if (verdict.wrong.empty()) {
    report.ok(check, verdict.confirmed);
    return;
  }
  std::string detail;
  for (const auto& wrong : verdict.wrong) detail += (detail.empty() ? "" : "; ") + wrong;
  report.fail(check, detail, fix);
}

// Reads the engine's view of the running probe container, then lets the run end.
doctor_limits::EngineView look_from_outside(docker::Engine& engine, const std::string& id,
                                            const std::filesystem::path& data_dir) {
  doctor_limits::EngineView view;
  if (auto state = engine.inspect_container(id)) {
    view.inspected = std::move(*state);
  } else {
    view.inspect_error = state.error().message;
  }
  if (auto stats = engine.container_stats(id)) {
    view.stats = *stats;
  } else {
    view.stats_error = stats.error().message;
  }
  std::ofstream(data_dir / kObservedFile) << "1\n";
  return view;
}

// Limits are confirmed from outside (what the engine applied and reads from
// the cgroups) and, where the runtime shows them, from inside: a runtime with
// its own kernel (gVisor) hides the host's cgroups from the program.
void check_probe_run(const config::Config& config, docker::Engine& engine, const runner::Registry& registry,
                     Report& report) {
  doctor_limits::EngineView outside;
  auto probe = probe_sandbox(config, engine, registry, doctor_limits::guest_probe_script(kObservedFile),
                             [&](const std::string& id, const std::filesystem::path& data_dir) {
                               outside = look_from_outside(engine, id, data_dir);
                             });
  if (!probe) {
    report.fail("sandbox", probe.error().message, "");
    return;
  }
  const auto guest = doctor_limits::parse_guest_view(probe->outcome.stdout_data);
  if (!probe->outcome.succeeded()) {
    report.fail("limits", "probe run exited " + std::to_string(probe->outcome.exit_code) +
                              (probe->outcome.oom_killed ? " (out of memory)" : "") + ": " + probe->outcome.stderr_data,
                "raise RUN_MEMORY_MB or RUN_PIDS_LIMIT if the runtime needs more of them (docs/limits.md)");
  } else if (!probe->observed) {
    report.fail("limits", "the probe run ended before the engine could be asked about it", "");
  } else {
    report_verdict("limits", doctor_limits::assess_limits(config.limits, guest, outside),
                   "the engine does not enforce the limits; check `docker info` for cgroup warnings", report);
    report_verdict("isolation", doctor_limits::assess_isolation(guest, outside), "", report);
  }
  if (probe->problem.empty()) {
    report.ok("sandbox", config.sandbox_root + " is writable and the engine sees it as " + config.engine_sandbox_path());
  } else {
    report.fail("sandbox", probe->problem, "");
    return;
  }
  check_mounted_volume(guest.data_fs, probe->volume, report);
}

void check_runners(const config::Config& config, const runner::Registry& registry, Report& report) {
  for (const auto& problem : registry.problems()) report.fail("runner", problem, "rebuild it: ./build.sh images");
  for (const auto& language : config.required_runners) {
    if (const auto* found = registry.find(language)) {
      report.ok("runner", found->manifest.language + ": " + found->manifest.image + " (" + found->version + ")");
    } else {
      report.fail("runner", language + ": no image", "build it: ./build.sh images " + language);
    }
  }
}

// Which OCI runtime runs get. The executor also checks each container's
// HostConfig.Runtime, so a configured runtime is never silently replaced.
void check_runtime(const config::Config& config, docker::Engine& engine, Report& report) {
  auto info = engine.info();
  if (!info) {
    report.fail("runtime", info.error().message, "check that the engine is healthy");
    return;
  }
  std::string registered;
  for (const auto& name : info->runtimes) registered += (registered.empty() ? "" : ", ") + name;
  if (config.runner_runtime.empty()) {
    report.ok("runtime", "runs use the engine's default runtime '" + info->default_runtime + "' (registered: " +
                             registered + "); set RUNNER_RUNTIME for another");
  } else if (std::find(info->runtimes.begin(), info->runtimes.end(), config.runner_runtime) == info->runtimes.end()) {
    report.fail("runtime", "RUNNER_RUNTIME '" + config.runner_runtime + "' is not registered in the engine (registered: " +
                               registered + ")",
                "register it in the engine's daemon.json \"runtimes\", or unset RUNNER_RUNTIME");
  } else {
    report.ok("runtime", "runs use '" + config.runner_runtime + "', checked on every container (the probe run below too)");
  }
}

void check_secrets(const config::Config& config, Report& report) {
  const auto problems = config::validate_secrets(config);
  if (problems.empty()) {
    report.ok("secrets", std::to_string(config.api_tokens.size()) + " API token(s) and FILE_SECRET set, each >= 32 characters");
  }
  for (const auto& problem : problems) report.fail("secrets", problem, "set it in .env (./build.sh serve makes one)");
}

}  // namespace

int doctor(const config::Config& config, const core::Result<std::unique_ptr<docker::Engine>>& engine,
           std::ostream& out) {
  Report report(out);
  if (!engine) {
    report.fail("engine", engine.error().message,
                "start dockerd (./build.sh engine) or point DOCKER_HOST at a running engine");
  } else {
    auto& api = **engine;
    auto version = api.version();
    if (version) {
      report.ok("engine", "Docker " + version->version + " at " + config.docker_host + ", API " + api.api_version() +
                              " (engine speaks up to " + version->api_version + ")");
    } else {
      report.fail("engine", version.error().message, "check that the engine is healthy");
    }
    check_runtime(config, api, report);
    auto registry = runner::Registry::discover(api);
    if (!registry) {
      report.fail("runner", registry.error().message, "");
    } else {
      check_runners(config, *registry, report);
      check_probe_run(config, api, *registry, report);
    }
  }
  check_secrets(config, report);
  return report.failed() ? 1 : 0;
}

}  // namespace cli
