#include "cli/doctor.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "cli/sandbox_probe.hpp"

namespace cli {
namespace {

// Reads the limits as the kernel applies them inside a run container, for
// cgroup v1 and v2 alike, plus the facts the hardening promises.
constexpr const char* kProbeScript = R"SH(
if [ -f /sys/fs/cgroup/memory.max ]; then
  echo "memory=$(cat /sys/fs/cgroup/memory.max)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu.max)"
  echo "pids=$(cat /sys/fs/cgroup/pids.max)"
else
  echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"
fi
echo "uid=$(id -u)"
if touch /.doctor 2>/dev/null; then echo rootfs=writable; else echo rootfs=read-only; fi
echo "interfaces=$(ls /sys/class/net | tr '\n' ' ')"
echo "datafs=$(stat -f -c '%b %S' /data)"
)SH";

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

std::map<std::string, std::string> parse_probe(const std::string& text) {
  std::map<std::string, std::string> facts;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (auto eq = line.find('='); eq != std::string::npos) facts[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return facts;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n')) s.pop_back();
  return s;
}

// "50000 100000" (v1 quota+period) or "50000 100000" (v2 cpu.max) -> 0.5
double cpus_from(const std::string& text) {
  std::istringstream in(text);
  double quota = 0, period = 0;
  if (!(in >> quota >> period) || period <= 0) return -1;
  return quota / period;
}

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

void check_limits(const config::Config& config, const runner::RunOutcome& outcome, Report& report) {
  auto facts = parse_probe(outcome.stdout_data);
  const auto& limits = config.limits;
  std::vector<std::string> wrong;
  const auto expected_memory = std::to_string(limits.memory_mb * 1024 * 1024);
  if (facts["memory"] != expected_memory) wrong.push_back("memory " + facts["memory"] + " != " + expected_memory);
  if (std::fabs(cpus_from(facts["cpu"]) - limits.cpus) > 0.01) wrong.push_back("cpu quota '" + facts["cpu"] + "'");
  if (facts["pids"] != std::to_string(limits.pids)) wrong.push_back("pids " + facts["pids"]);
  if (facts["uid"] != "1000") wrong.push_back("uid " + facts["uid"]);
  if (facts["rootfs"] != "read-only") wrong.push_back("root filesystem " + facts["rootfs"]);
  if (trim(facts["interfaces"]) != "lo") wrong.push_back("network interfaces '" + trim(facts["interfaces"]) + "'");
  if (wrong.empty()) {
    std::ostringstream detail;
    detail << "probe run enforced " << limits.memory_mb << " MiB, " << limits.cpus << " CPU, " << limits.pids
           << " pids, uid 1000, read-only root, loopback only (" << outcome.duration.count() << " ms)";
    report.ok("limits", detail.str());
  } else {
    std::string detail = "probe run saw:";
    for (const auto& w : wrong) detail += " " + w + ";";
    report.fail("limits", detail, "the engine does not apply the limits; check `docker info` for cgroup warnings");
  }
}

void check_probe_run(const config::Config& config, docker::Engine& engine, const runner::Registry& registry,
                     Report& report) {
  auto probe = probe_sandbox(config, engine, registry, kProbeScript);
  if (!probe) {
    report.fail("sandbox", probe.error().message, "");
    return;
  }
  if (!probe->outcome.succeeded()) {
    report.fail("limits", "probe run exited " + std::to_string(probe->outcome.exit_code) + ": " +
                              probe->outcome.stderr_data, "");
  } else {
    check_limits(config, probe->outcome, report);
  }
  if (probe->problem.empty()) {
    report.ok("sandbox", config.sandbox_root + " is writable and the engine sees it as " + config.engine_sandbox_path());
  } else {
    report.fail("sandbox", probe->problem, "");
    return;
  }
  check_mounted_volume(parse_probe(probe->outcome.stdout_data)["datafs"], probe->volume, report);
}

void check_runners(const config::Config& config, const runner::Registry& registry, Report& report) {
  for (const auto& problem : registry.problems()) report.fail("runner", problem, "rebuild it: ./build.sh images");
  for (const auto& language : config.required_runners) {
    if (const auto* found = registry.find(language)) {
      report.ok("runner", found->manifest.language + ": " + found->manifest.image + " (" + found->version + ")");
    } else {
      report.fail("runner", language + ": no image", "build the runner images: ./build.sh images");
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
