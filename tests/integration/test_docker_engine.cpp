// The curl Engine against the real daemon with the base image: every call the
// product makes, the attach stream's edge cases, and the engine's own answers.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <algorithm>

#include "core/random.hpp"
#include "docker/api_version.hpp"
#include "integration/integration_env.hpp"
#include "runner/labels.hpp"

using core::ErrorKind;
using docker::Clock;
using docker::PumpEnd;
using docker::StreamDemux;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr const char* kBaseImage = "mcp-sandbox/base:bookworm";
constexpr const char* kTestLabel = "io.mcp-sandbox.test";
constexpr std::size_t kCap = 1 << 20;

docker::Engine& engine() { return *integration::env().engine; }

docker::ContainerSpec spec_for(std::vector<std::string> cmd) {
  docker::ContainerSpec spec;
  spec.image = kBaseImage;
  spec.cmd = std::move(cmd);
  spec.open_stdin = true;
  // The suite's instance label lets its main report anything this file leaves behind.
  spec.labels = {{runner::labels::kInstance, integration::env().instance_id}, {kTestLabel, "docker-engine"}};
  spec.log_driver = "json-file";
  spec.log_options = {{"max-size", "1m"}, {"max-file", "1"}};
  return spec;
}

// Removes the container however the test ends.
class Container {
 public:
  explicit Container(const docker::ContainerSpec& spec) {
    auto id = engine().create_container(spec);
    INFO((id ? std::string() : id.error().message));
    REQUIRE(id);
    m_id = *id;
  }
  ~Container() { static_cast<void>(engine().remove_container(m_id)); }
  Container(const Container&) = delete;
  Container& operator=(const Container&) = delete;

  [[nodiscard]] const std::string& id() const { return m_id; }

 private:
  std::string m_id;
};

struct Ran {
  PumpEnd end = PumpEnd::eof;
  docker::WaitResult wait;
};

// Attach, start, pump `input` until EOF or `deadline_in`, then wait: the executor's order.
Ran attach_start_pump(const Container& container, std::string_view input, StreamDemux& output,
                      milliseconds deadline_in = milliseconds(20000)) {
  auto attachment = engine().attach(container.id());
  INFO((attachment ? std::string() : attachment.error().message));
  REQUIRE(attachment);
  REQUIRE(engine().start_container(container.id()));
  const auto end = (*attachment)->pump(input, Clock::now() + deadline_in, output);
  REQUIRE(end);
  Ran ran{*end, {}};
  if (*end == PumpEnd::eof) {
    const auto waited = engine().wait_container(container.id(), milliseconds(10000));
    REQUIRE(waited);
    ran.wait = *waited;
  }
  return ran;
}

std::string run_shell(const docker::ContainerSpec& spec, StreamDemux& output) {
  const Container container(spec);
  const auto ran = attach_start_pump(container, "", output);
  CHECK(ran.wait.status_code == 0);
  return output.out();
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

TEST_CASE("docker engine: ping, version, info and the negotiated API version") {
  REQUIRE(engine().ping());
  const auto version = engine().version();
  REQUIRE(version);
  CHECK_FALSE(version->version.empty());
  const std::string expected =
      docker::compare_api_versions(version->api_version, docker::kNewestApi) < 0 ? version->api_version
                                                                                 : std::string(docker::kNewestApi);
  CHECK(engine().api_version() == expected);
  const auto info = engine().info();
  REQUIRE(info);
  CHECK(info->ncpu > 0);
  CHECK(info->mem_total > 0);
  CHECK(std::find(info->runtimes.begin(), info->runtimes.end(), info->default_runtime) != info->runtimes.end());
}

TEST_CASE("docker engine: the base image, inspected and listed") {
  const auto image = engine().inspect_image(kBaseImage);
  REQUIRE(image);
  CHECK_THAT(image->id, Catch::StartsWith("sha256:"));
  CHECK(std::find(image->repo_tags.begin(), image->repo_tags.end(), kBaseImage) != image->repo_tags.end());
  CHECK(image->created > 0);
  CHECK(image->size > 0);

  const auto runners = engine().list_images(std::string(runner::labels::kKind) + "=" + runner::labels::kKindRunner);
  REQUIRE(runners);
  for (const auto& runner_image : *runners) {
    CHECK(runner_image.labels.at(runner::labels::kKind) == runner::labels::kKindRunner);
  }
}

TEST_CASE("docker engine: a missing image is not_found and named") {
  const auto inspected = engine().inspect_image("mcp-sandbox/does-not-exist:never");
  REQUIRE_FALSE(inspected);
  CHECK(inspected.error().kind == ErrorKind::not_found);
  CHECK_THAT(inspected.error().message, Catch::Contains("mcp-sandbox/does-not-exist:never"));

  auto spec = spec_for({"true"});
  spec.image = "mcp-sandbox/does-not-exist:never";
  const auto created = engine().create_container(spec);
  REQUIRE_FALSE(created);
  CHECK(created.error().kind == ErrorKind::not_found);
  CHECK_THAT(created.error().message, Catch::Contains("mcp-sandbox/does-not-exist:never"));
}

TEST_CASE("docker engine: the hardening fields take effect inside the container") {
  auto spec = spec_for({"sh", "-c",
                        "id -u; id -g; pwd; echo $GREETING;"
                        "grep CapBnd /proc/self/status; grep NoNewPrivs /proc/self/status;"
                        "touch /rootfs-write 2>/dev/null && echo root-writable || echo root-readonly;"
                        "touch /tmp/ok && echo tmp-writable;"
                        "ulimit -n; cat /proc/1/comm;"
                        "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max;"
                        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"});
  spec.user = "1000:1000";
  spec.working_dir = "/tmp";
  spec.env = {"GREETING=hi there"};
  spec.nano_cpus = 500'000'000;
  spec.memory_bytes = 256 << 20;
  spec.memory_swap_bytes = 256 << 20;
  spec.pids_limit = 64;
  spec.cap_drop = {"ALL"};
  spec.security_opt = {"no-new-privileges"};
  spec.readonly_rootfs = true;
  spec.tmpfs = {{"/tmp", "rw,nosuid,size=16m,mode=1777"}};
  spec.ulimits = {{"nofile", 256, 256}};
  spec.init = true;
  StreamDemux output(kCap, kCap);
  const std::string out = run_shell(spec, output);
  CHECK(output.err().empty());
  CHECK(out ==
        "1000\n1000\n/tmp\nhi there\n"
        "CapBnd:\t0000000000000000\nNoNewPrivs:\t1\n"
        "root-readonly\ntmp-writable\n"
        "256\ndocker-init\n"
        "64\n"
        "lo\n");
}

TEST_CASE("docker engine: stdin goes to the program and its output comes back") {
  const Container container(spec_for({"cat"}));
  StreamDemux output(kCap, kCap);
  const auto ran = attach_start_pump(container, "hello", output);
  CHECK(ran.end == PumpEnd::eof);
  CHECK(output.out() == "hello");
  CHECK(output.err().empty());
  CHECK(ran.wait.status_code == 0);
}

TEST_CASE("docker engine: stdout and stderr are split") {
  const Container container(spec_for({"sh", "-c", "echo out; echo err >&2; echo out2"}));
  StreamDemux output(kCap, kCap);
  const auto ran = attach_start_pump(container, "", output);
  CHECK(ran.end == PumpEnd::eof);
  CHECK(output.out() == "out\nout2\n");
  CHECK(output.err() == "err\n");
  CHECK_FALSE(output.partial_frame());
}

TEST_CASE("docker engine: a program that never reads stdin still has its output read") {
  const Container container(spec_for({"sh", "-c", "echo ignoring; exit 4"}));
  StreamDemux output(kCap, kCap);
  const auto ran = attach_start_pump(container, std::string(8 << 20, 'x'), output);
  CHECK(ran.end == PumpEnd::eof);
  CHECK(output.out() == "ignoring\n");
  CHECK(ran.wait.status_code == 4);
}

TEST_CASE("docker engine: stdin written across pump slices arrives whole") {
  // The program reads nothing for a while, so the first slices end with most of stdin unwritten.
  const Container container(spec_for({"sh", "-c", "sleep 0.5; wc -c"}));
  auto attachment = engine().attach(container.id());
  REQUIRE(attachment);
  REQUIRE(engine().start_container(container.id()));
  StreamDemux output(kCap, kCap);
  const std::string input(4 << 20, 'x');
  const auto give_up = Clock::now() + seconds(20);
  int slices = 0;
  auto end = (*attachment)->pump(input, Clock::now() + milliseconds(100), output);
  while (end && *end == PumpEnd::deadline && Clock::now() < give_up) {
    ++slices;
    end = (*attachment)->pump("", Clock::now() + milliseconds(100), output);
  }
  REQUIRE(end);
  CHECK(*end == PumpEnd::eof);
  CHECK(slices >= 3);
  CHECK(output.out() == std::to_string(input.size()) + "\n");
}

TEST_CASE("docker engine: a flood of output is capped with bounded memory") {
  const Container container(spec_for({"head", "-c", "50000000", "/dev/zero"}));
  StreamDemux output(kCap, kCap);
  const long rss_before = max_rss_kib();
  const auto ran = attach_start_pump(container, "", output);
  const long rss_growth_kib = max_rss_kib() - rss_before;
  CHECK(ran.end == PumpEnd::eof);
  CHECK(ran.wait.status_code == 0);
  CHECK(output.out().size() == kCap);
  CHECK(output.dropped_out() == 50'000'000 - kCap);
  CHECK(output.truncated());
  // The cap plus a read buffer, nowhere near the 50 MB that went through.
  CHECK(rss_growth_kib < 16 * 1024);
}

TEST_CASE("docker engine: a deadline, a kill, then the stream ends and the state says so") {
  const Container container(spec_for({"sh", "-c", "echo started; exec sleep 30"}));
  auto attachment = engine().attach(container.id());
  REQUIRE(attachment);
  REQUIRE(engine().start_container(container.id()));
  StreamDemux output(kCap, kCap);

  const auto started = Clock::now();
  const auto first = (*attachment)->pump("", started + milliseconds(1000), output);
  REQUIRE(first);
  CHECK(*first == PumpEnd::deadline);
  CHECK(Clock::now() - started < milliseconds(3000));
  CHECK(output.out() == "started\n");

  const auto running = engine().inspect_container(container.id());
  REQUIRE(running);
  CHECK(running->running);
  CHECK(running->status == "running");

  REQUIRE(engine().kill_container(container.id()));
  const auto killed_at = Clock::now();
  const auto second = (*attachment)->pump("", killed_at + milliseconds(5000), output);
  REQUIRE(second);
  CHECK(*second == PumpEnd::eof);
  CHECK(Clock::now() - killed_at < milliseconds(2000));

  const auto waited = engine().wait_container(container.id(), milliseconds(5000));
  REQUIRE(waited);
  CHECK(waited->status_code == 137);
  const auto state = engine().inspect_container(container.id());
  REQUIRE(state);
  CHECK(state->status == "exited");
  CHECK_FALSE(state->running);
  CHECK_FALSE(state->oom_killed);
  CHECK(state->exit_code == 137);

  // A second kill of the stopped container is not an error.
  CHECK(engine().kill_container(container.id()));
}

TEST_CASE("docker engine: wait reports the exit code, inspect the state, remove is idempotent") {
  std::string id;
  {
    const Container container(spec_for({"sh", "-c", "exit 3"}));
    id = container.id();
    const auto created = engine().inspect_container(id);
    REQUIRE(created);
    CHECK(created->status == "created");
    StreamDemux output(kCap, kCap);
    CHECK(attach_start_pump(container, "", output).wait.status_code == 3);
    const auto state = engine().inspect_container(id);
    REQUIRE(state);
    CHECK(state->status == "exited");
    CHECK(state->exit_code == 3);
    REQUIRE(engine().remove_container(id));
  }
  CHECK(engine().remove_container(id));
  const auto gone = engine().inspect_container(id);
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
  const auto attach_gone = engine().attach(id);
  REQUIRE_FALSE(attach_gone);
  CHECK(attach_gone.error().kind == ErrorKind::not_found);
  CHECK_THAT(attach_gone.error().message, Catch::Contains("No such container"));
}

TEST_CASE("docker engine: a command that does not exist fails the start with runc's reason") {
  const Container container(spec_for({"/nonexistent"}));
  const auto started = engine().start_container(container.id());
  REQUIRE_FALSE(started);
  CHECK(started.error().kind == ErrorKind::invalid_argument);
  CHECK_THAT(started.error().message, Catch::Contains("/nonexistent"));
}

TEST_CASE("docker engine: a name in use is a conflict") {
  auto spec = spec_for({"true"});
  spec.name = "mcp-sandbox-it-" + core::random_hex(6);
  const Container first(spec);
  const auto second = engine().create_container(spec);
  if (second) {
    static_cast<void>(engine().remove_container(*second));
  }
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == ErrorKind::conflict);
  CHECK_THAT(second.error().message, Catch::Contains(spec.name));
}

TEST_CASE("docker engine: the label filter lists exactly the labelled containers") {
  const std::string value = core::random_hex(6);
  auto spec = spec_for({"true"});
  spec.labels["io.mcp-sandbox.filter-test"] = value;
  const Container first(spec);
  const Container second(spec);
  const Container unlabelled(spec_for({"true"}));

  const auto listed = engine().list_containers("io.mcp-sandbox.filter-test=" + value);
  REQUIRE(listed);
  std::vector<std::string> ids;
  for (const auto& container : *listed) {
    ids.push_back(container.id);
    CHECK(container.labels.at("io.mcp-sandbox.filter-test") == value);
    CHECK(container.state == "created");
    CHECK(container.image == kBaseImage);
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> expected{first.id(), second.id()};
  std::sort(expected.begin(), expected.end());
  CHECK(ids == expected);

  const auto none = engine().list_containers("io.mcp-sandbox.filter-test=" + core::random_hex(6));
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("docker engine: inspect shows the limits applied and stats the engine's reading of them while it runs") {
  auto spec = spec_for({"sh", "-c", "echo started; while :; do :; done"});
  spec.memory_bytes = spec.memory_swap_bytes = 128L * 1024 * 1024;
  spec.nano_cpus = 500'000'000;
  spec.pids_limit = 64;
  spec.readonly_rootfs = true;
  const Container container(spec);
  auto attachment = engine().attach(container.id());
  REQUIRE(attachment);
  REQUIRE(engine().start_container(container.id()));
  StreamDemux output(kCap, kCap);
  // Once it printed, it spins: the CPU quota has periods to count.
  REQUIRE((*attachment)->pump("", Clock::now() + milliseconds(3000), output));
  REQUIRE(output.out() == "started\n");

  const auto state = engine().inspect_container(container.id());
  REQUIRE(state);
  CHECK(state->limits.memory_bytes == 128L * 1024 * 1024);
  CHECK(state->limits.memory_swap_bytes == 128L * 1024 * 1024);
  CHECK(state->limits.nano_cpus == 500'000'000);
  CHECK(state->limits.pids_limit == 64);
  CHECK(state->limits.readonly_rootfs);
  CHECK(state->limits.network_mode == "none");
  CHECK(state->limits.network_disabled);

  const auto stats = engine().container_stats(container.id());
  INFO((stats ? std::string() : stats.error().message));
  REQUIRE(stats);
  CHECK(stats->memory_limit == 128L * 1024 * 1024);
  CHECK(stats->pids_limit == 64);
  CHECK(stats->pids_current >= 1);
  CHECK(stats->memory_usage > 0);
  CHECK(stats->cpu_periods > 0);
  CHECK(stats->cpu_total_ns > 0);
  REQUIRE(engine().kill_container(container.id()));

  const auto gone = engine().container_stats("no-such-container-" + core::random_hex(4));
  REQUIRE_FALSE(gone);
  CHECK(gone.error().kind == ErrorKind::not_found);
}
