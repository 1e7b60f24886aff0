#include "cli/doctor_limits.hpp"

#include <cmath>
#include <map>
#include <sstream>

namespace cli::doctor_limits {
namespace {

// cgroup v2 first (unified hosts), then v1; a runtime with its own kernel
// (gVisor) shows neither. Interfaces come from /proc/net/dev because gVisor
// has no /sys/class. bash builtins only, so any runner image can run it.
constexpr const char* kGuestScript = R"SH(
if [ -f /sys/fs/cgroup/memory.max ]; then
  echo cgroup=2
  echo "memory=$(cat /sys/fs/cgroup/memory.max)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu.max)"
  echo "pids=$(cat /sys/fs/cgroup/pids.max)"
elif [ -f /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
  echo cgroup=1
  echo "memory=$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  echo "cpu=$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"
  echo "pids=$(cat /sys/fs/cgroup/pids/pids.max)"
else
  echo cgroup=hidden
fi
echo "uid=$(id -u)"
if touch /.doctor 2>/dev/null; then echo rootfs=writable; else echo rootfs=read-only; fi
interfaces=""
{ read -r _; read -r _; while IFS=: read -r name _; do interfaces="$interfaces${name// /} "; done; } < /proc/net/dev
echo "interfaces=$interfaces"
echo "datafs=$(stat -f -c '%b %S' /data)"
)SH";

std::map<std::string, std::string> key_values(const std::string& text) {
  std::map<std::string, std::string> facts;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (auto eq = line.find('='); eq != std::string::npos) facts[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return facts;
}

// A cgroup number; "max" (v2's "no limit") and anything unreadable are absent.
std::optional<std::int64_t> cgroup_number(const std::string& text) {
  std::istringstream in(text);
  std::int64_t value = 0;
  if (!(in >> value) || value < 0) return std::nullopt;
  return value;
}

// "50000 100000": v1's quota and period, and v2's cpu.max alike. A quota of
// -1 (v1) or "max" (v2) is no quota.
std::optional<double> cgroup_cpus(const std::string& text) {
  std::istringstream in(text);
  std::int64_t quota = 0;
  std::int64_t period = 0;
  if (!(in >> quota >> period) || quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<double>(quota) / static_cast<double>(period);
}

std::string mib(std::int64_t bytes) {
  return bytes % (1024 * 1024) == 0 ? std::to_string(bytes / (1024 * 1024)) + " MiB" : std::to_string(bytes) + " bytes";
}

std::string mib_rounded(std::int64_t bytes) {
  std::ostringstream out;
  out.precision(1);
  out << std::fixed << static_cast<double>(bytes) / (1024.0 * 1024.0) << " MiB";
  return out.str();
}

std::string optional_text(const std::optional<std::int64_t>& value, const std::string& unit_none) {
  return value ? std::to_string(*value) : unit_none;
}

std::string cpus_text(double cpus) {
  std::ostringstream out;
  out << cpus;
  return out.str();
}

bool same_cpus(double a, double b) { return std::fabs(a - b) <= 0.01; }

// The applied half: HostConfig must say what the configuration says.
void check_applied(const config::RunLimits& expected, const EngineView& engine, std::vector<std::string>& wrong) {
  if (!engine.inspected) {
    wrong.push_back("the engine's HostConfig could not be read (" + engine.inspect_error + ")");
    return;
  }
  const auto& applied = engine.inspected->limits;
  const std::int64_t memory = expected.memory_mb * 1024 * 1024;
  if (applied.memory_bytes != memory) {
    wrong.push_back("the engine applied memory " + mib(applied.memory_bytes) + ", not " + mib(memory));
  }
  if (applied.memory_swap_bytes != applied.memory_bytes) {
    wrong.push_back("the engine allows swap (MemorySwap " + std::to_string(applied.memory_swap_bytes) + ")");
  }
  const auto nano_cpus = static_cast<std::int64_t>(std::llround(expected.cpus * 1e9));
  if (applied.nano_cpus != nano_cpus) {
    wrong.push_back("the engine applied " + cpus_text(static_cast<double>(applied.nano_cpus) / 1e9) + " CPU, not " +
                    cpus_text(expected.cpus));
  }
  if (applied.pids_limit != expected.pids) {
    wrong.push_back("the engine applied pids limit " + std::to_string(applied.pids_limit) + ", not " +
                    std::to_string(expected.pids));
  }
}

// The enforced half: every reading there is must agree, and at least one must exist.
void check_enforced(const config::RunLimits& expected, const GuestView& guest, const EngineView& engine,
                    std::vector<std::string>& wrong) {
  const bool guest_sees = !guest.cgroup_version.empty();
  const bool stats = engine.stats.has_value();
  if (!guest_sees && !stats) {
    wrong.push_back("nothing confirms the limits are enforced: the runtime hides cgroups from the program and the "
                    "engine's stats could not be read (" + engine.stats_error + ")");
    return;
  }
  const std::int64_t memory = expected.memory_mb * 1024 * 1024;
  if (guest_sees && guest.memory_bytes != memory) {
    wrong.push_back("the program's cgroup memory limit is " + optional_text(guest.memory_bytes, "none"));
  }
  if (stats && engine.stats->memory_limit != memory) {
    wrong.push_back("the engine's stats show memory limit " + optional_text(engine.stats->memory_limit, "none"));
  }
  if (guest_sees && (!guest.cpus || !same_cpus(*guest.cpus, expected.cpus))) {
    wrong.push_back("the program's cgroup CPU quota is " + (guest.cpus ? cpus_text(*guest.cpus) : "none"));
  }
  // The kernel counts CFS periods only while a quota is set, and the probe
  // kept the container busy: no periods means no quota.
  if (stats && engine.stats->cpu_periods <= 0) {
    wrong.push_back("the engine's stats show no CPU quota periods (no CPU quota enforced)");
  }
  if (guest_sees && guest.pids != expected.pids) {
    wrong.push_back("the program's cgroup pids limit is " + optional_text(guest.pids, "none"));
  }
  if (stats && engine.stats->pids_limit != expected.pids) {
    wrong.push_back("the engine's stats show pids limit " + optional_text(engine.stats->pids_limit, "none"));
  }
}

}  // namespace

std::string guest_probe_script(const std::string& wait_for) {
  std::string script = kGuestScript;
  if (!wait_for.empty()) {
    script += "while [ ! -e /data/" + wait_for + " ] && [ \"$SECONDS\" -lt 15 ]; do :; done\n";
  }
  return script;
}

GuestView parse_guest_view(const std::string& output) {
  auto facts = key_values(output);
  GuestView view;
  if (facts["cgroup"] == "1" || facts["cgroup"] == "2") {
    view.cgroup_version = facts["cgroup"];
    view.memory_bytes = cgroup_number(facts["memory"]);
    view.cpus = cgroup_cpus(facts["cpu"]);
    view.pids = cgroup_number(facts["pids"]);
  }
  view.uid = facts["uid"];
  view.readonly_root = facts["rootfs"] == "read-only";
  std::istringstream names(facts["interfaces"]);
  for (std::string name; names >> name;) view.interfaces.push_back(name);
  view.data_fs = facts["datafs"];
  return view;
}

Verdict assess_limits(const config::RunLimits& expected, const GuestView& guest, const EngineView& engine) {
  Verdict verdict;
  check_applied(expected, engine, verdict.wrong);
  check_enforced(expected, guest, engine, verdict.wrong);
  std::string readers;
  if (!guest.cgroup_version.empty()) readers = "the program's own cgroup v" + guest.cgroup_version + " files";
  if (engine.stats) {
    readers += (readers.empty() ? "" : " and ") + std::string("the engine's stats (") +
               std::to_string(engine.stats->cpu_throttled_periods) + " of " +
               std::to_string(engine.stats->cpu_periods) + " CPU periods throttled, " +
               std::to_string(engine.stats->pids_current) + " pids and " + mib_rounded(engine.stats->memory_usage) +
               " in use)";
  }
  if (guest.cgroup_version.empty()) readers += "; the runtime hides cgroups from the program";
  if (!engine.stats && !engine.stats_error.empty()) readers += "; the engine's stats: " + engine.stats_error;
  std::ostringstream confirmed;
  confirmed << expected.memory_mb << " MiB (no swap), " << expected.cpus << " CPU, " << expected.pids
            << " pids applied by the engine and enforced per " << readers;
  verdict.confirmed = confirmed.str();
  return verdict;
}

Verdict assess_isolation(const GuestView& guest, const EngineView& engine) {
  Verdict verdict;
  if (guest.uid != "1000") verdict.wrong.push_back("the program runs as uid '" + guest.uid + "', not 1000");
  if (!guest.readonly_root) verdict.wrong.push_back("the program could write its root filesystem");
  if (guest.interfaces != std::vector<std::string>{"lo"}) {
    std::string names;
    for (const auto& name : guest.interfaces) names += (names.empty() ? "" : " ") + name;
    verdict.wrong.push_back("the program sees network interfaces '" + names + "', not only lo");
  }
  if (engine.inspected) {
    const auto& applied = engine.inspected->limits;
    if (!applied.readonly_rootfs) verdict.wrong.push_back("the engine did not apply ReadonlyRootfs");
    if (applied.network_mode != "none" && !applied.network_disabled) {
      verdict.wrong.push_back("the engine gave the container network '" + applied.network_mode + "'");
    }
  } else {
    verdict.wrong.push_back("the engine's HostConfig could not be read (" + engine.inspect_error + ")");
  }
  verdict.confirmed = "uid 1000, read-only root, no network interface but lo (seen by the program; applied by the engine)";
  return verdict;
}

}  // namespace cli::doctor_limits
