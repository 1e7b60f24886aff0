#include <catch2/catch.hpp>

#include "cli/doctor_limits.hpp"

using namespace cli::doctor_limits;

namespace {

// What the probe program printed, captured per runtime and cgroup version
// (v2 from the file layout of a unified host: memory.max, cpu.max, pids.max).
constexpr const char* kRuncV1 =
    "cgroup=1\nmemory=268435456\ncpu=50000 100000\npids=128\nuid=1000\nrootfs=read-only\ninterfaces=lo \n"
    "datafs=260096 4096\n";
constexpr const char* kV2 =
    "cgroup=2\nmemory=268435456\ncpu=50000 100000\npids=128\nuid=1000\nrootfs=read-only\ninterfaces=lo \n"
    "datafs=260096 4096\n";
constexpr const char* kV2Unlimited =
    "cgroup=2\nmemory=max\ncpu=max 100000\npids=max\nuid=1000\nrootfs=read-only\ninterfaces=lo \n";
constexpr const char* kV1Unlimited =
    "cgroup=1\nmemory=9223372036854771712\ncpu=-1 100000\npids=max\nuid=1000\nrootfs=read-only\ninterfaces=lo \n";
// gVisor: its kernel has no host cgroups to show, /proc/net/dev still answers.
constexpr const char* kGvisor = "cgroup=hidden\nuid=1000\nrootfs=read-only\ninterfaces=lo \ndatafs=260096 4096\n";

config::RunLimits limits() {
  config::RunLimits expected;
  expected.memory_mb = 256;
  expected.cpus = 0.5;
  expected.pids = 128;
  return expected;
}

docker::ContainerState applied(std::int64_t memory = 268435456, std::int64_t pids = 128) {
  docker::ContainerState state;
  state.running = true;
  state.runtime = "runsc";
  state.limits = {memory, memory, 500000000, pids, true, "none", true, "1000:1000"};
  return state;
}

docker::ContainerStats enforced() {
  docker::ContainerStats stats;
  stats.memory_limit = 268435456;
  stats.memory_usage = 13291520;
  stats.pids_limit = 128;
  stats.pids_current = 44;
  stats.cpu_periods = 24;
  stats.cpu_throttled_periods = 13;
  return stats;
}

EngineView engine_view() {
  EngineView view;
  view.inspected = applied();
  view.stats = enforced();
  return view;
}

bool mentions(const Verdict& verdict, const std::string& text) {
  for (const auto& wrong : verdict.wrong) {
    if (wrong.find(text) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("doctor limits: guest probe output, cgroup v1") {
  const auto guest = parse_guest_view(kRuncV1);
  CHECK(guest.cgroup_version == "1");
  CHECK(guest.memory_bytes == 268435456);
  REQUIRE(guest.cpus);
  CHECK(*guest.cpus == Approx(0.5));
  CHECK(guest.pids == 128);
  CHECK(guest.uid == "1000");
  CHECK(guest.readonly_root);
  CHECK(guest.interfaces == std::vector<std::string>{"lo"});
  CHECK(guest.data_fs == "260096 4096");
}

TEST_CASE("doctor limits: guest probe output, cgroup v2, with limits and with 'max'") {
  const auto limited = parse_guest_view(kV2);
  CHECK(limited.cgroup_version == "2");
  CHECK(limited.memory_bytes == 268435456);
  REQUIRE(limited.cpus);
  CHECK(*limited.cpus == Approx(0.5));
  CHECK(limited.pids == 128);

  const auto unlimited = parse_guest_view(kV2Unlimited);
  CHECK(unlimited.cgroup_version == "2");
  CHECK_FALSE(unlimited.memory_bytes);
  CHECK_FALSE(unlimited.cpus);
  CHECK_FALSE(unlimited.pids);
}

TEST_CASE("doctor limits: gVisor hides cgroups; interfaces from /proc/net/dev") {
  const auto guest = parse_guest_view(kGvisor);
  CHECK(guest.cgroup_version.empty());
  CHECK_FALSE(guest.memory_bytes);
  CHECK(guest.interfaces == std::vector<std::string>{"lo"});
  const auto two = parse_guest_view("interfaces=lo eth0 \n");
  CHECK(two.interfaces == std::vector<std::string>{"lo", "eth0"});
}

TEST_CASE("doctor limits: runc with cgroup v1 or v2 files and the engine's stats agreeing is ok") {
  for (const char* output : {kRuncV1, kV2}) {
    CAPTURE(output);
    const auto verdict = assess_limits(limits(), parse_guest_view(output), engine_view());
    INFO(verdict.confirmed);
    CHECK(verdict.wrong.empty());
    CHECK(verdict.confirmed.find("cgroup v") != std::string::npos);
    CHECK(verdict.confirmed.find("the engine's stats") != std::string::npos);
  }
}

TEST_CASE("doctor limits: under gVisor the engine's stats confirm the limits") {
  const auto verdict = assess_limits(limits(), parse_guest_view(kGvisor), engine_view());
  CHECK(verdict.wrong.empty());
  CHECK(verdict.confirmed.find("hides cgroups") != std::string::npos);
  CHECK(verdict.confirmed.find("13 of 24 CPU periods throttled") != std::string::npos);
}

TEST_CASE("doctor limits: hidden cgroups and no stats confirm nothing: FAIL") {
  EngineView view;
  view.inspected = applied();
  view.stats_error = "engine unavailable";
  const auto verdict = assess_limits(limits(), parse_guest_view(kGvisor), view);
  CHECK(mentions(verdict, "nothing confirms the limits are enforced"));
  CHECK(mentions(verdict, "engine unavailable"));
}

TEST_CASE("doctor limits: a limit applied but not enforced is a FAIL, under any runtime") {
  auto view = engine_view();
  view.stats->memory_limit.reset();
  view.stats->pids_limit = 4096;
  view.stats->cpu_periods = 0;
  for (const char* output : {kGvisor, kRuncV1}) {
    CAPTURE(output);
    const auto verdict = assess_limits(limits(), parse_guest_view(output), view);
    CHECK(mentions(verdict, "stats show memory limit none"));
    CHECK(mentions(verdict, "stats show pids limit 4096"));
    CHECK(mentions(verdict, "no CPU quota"));
  }
}

TEST_CASE("doctor limits: the program's own cgroup files contradicting the config is a FAIL") {
  for (const char* output : {kV2Unlimited, kV1Unlimited}) {
    CAPTURE(output);
    const auto verdict = assess_limits(limits(), parse_guest_view(output), engine_view());
    CHECK(mentions(verdict, "cgroup memory limit is"));
    CHECK(mentions(verdict, "cgroup CPU quota is none"));
    CHECK(mentions(verdict, "cgroup pids limit is none"));
  }
  // Only the guest's reading: stats unavailable, the files still decide.
  EngineView no_stats;
  no_stats.inspected = applied();
  no_stats.stats_error = "no stats";
  CHECK(assess_limits(limits(), parse_guest_view(kRuncV1), no_stats).wrong.empty());
  CHECK_FALSE(assess_limits(limits(), parse_guest_view(kV2Unlimited), no_stats).wrong.empty());
}

TEST_CASE("doctor limits: what the engine applied must be what the config says") {
  auto view = engine_view();
  view.inspected = applied(512L * 1024 * 1024, 64);
  view.inspected->limits.memory_swap_bytes = -1;
  view.inspected->limits.nano_cpus = 2000000000;
  const auto verdict = assess_limits(limits(), parse_guest_view(kGvisor), view);
  CHECK(mentions(verdict, "applied memory 512 MiB, not 256 MiB"));
  CHECK(mentions(verdict, "allows swap"));
  CHECK(mentions(verdict, "applied 2 CPU, not 0.5"));
  CHECK(mentions(verdict, "applied pids limit 64, not 128"));

  EngineView unreadable;
  unreadable.stats = enforced();
  unreadable.inspect_error = "No such container";
  CHECK(mentions(assess_limits(limits(), parse_guest_view(kGvisor), unreadable), "HostConfig could not be read"));
}

TEST_CASE("doctor isolation: uid, read-only root and loopback only, seen inside and applied outside") {
  CHECK(assess_isolation(parse_guest_view(kGvisor), engine_view()).wrong.empty());
  CHECK(assess_isolation(parse_guest_view(kRuncV1), engine_view()).wrong.empty());

  const auto guest = parse_guest_view("uid=0\nrootfs=writable\ninterfaces=lo eth0 \n");
  auto view = engine_view();
  view.inspected->limits.readonly_rootfs = false;
  view.inspected->limits.network_mode = "bridge";
  view.inspected->limits.network_disabled = false;
  const auto verdict = assess_isolation(guest, view);
  CHECK(mentions(verdict, "uid '0'"));
  CHECK(mentions(verdict, "write its root filesystem"));
  CHECK(mentions(verdict, "'lo eth0'"));
  CHECK(mentions(verdict, "ReadonlyRootfs"));
  CHECK(mentions(verdict, "network 'bridge'"));
}

TEST_CASE("doctor limits: the probe script waits for doctor only when asked") {
  CHECK(guest_probe_script("").find("while [ ! -e") == std::string::npos);
  const auto script = guest_probe_script(".observed");
  CHECK(script.find("/data/.observed") != std::string::npos);
  CHECK(script.find("/proc/net/dev") != std::string::npos);
  CHECK(script.find("/sys/fs/cgroup/memory.max") != std::string::npos);
}
