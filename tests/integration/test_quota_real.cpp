// Conversation quotas against the real engine: a run's /data is the
// conversation's own loop-mounted volume, so the kernel stops it at the quota. Loop mounts need
// root: the cases are tagged [root] and run as the ctest entry "integration: root".
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "integration/integration_env.hpp"
#include "sandbox/files.hpp"
#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::int64_t kQuota = 64 * kMiB;

// Workspaces with a 64 MiB / 500-file quota and a clock the test can move.
struct Quotas {
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'800'000'000);
  sandbox::Workspaces spaces{integration::env().sandbox_root, integration::env().sandbox_root.string(),
                             std::string(40, 'q'),
                             sandbox::WorkspaceOptions{{kQuota, 500}, [n = now] { return *n; }, nullptr}};
  Quotas() { REQUIRE(spaces.prepare_root()); }
  ~Quotas() {
    // Delete every conversation this test made, mounts and images included.
    *now += 10L * 365 * 86400;
    sandbox::SweepPolicy policy;
    policy.ttl_seconds = 1;
    spaces.sweep(policy);
  }
  runner::RunOutcome run(const sandbox::Workspace& workspace, const std::string& code) {
    runner::RunRequest request;
    request.language = "bash";
    request.code = code;
    request.timeout_seconds = 60;
    request.workspace = workspace;
    auto outcome = integration::make_executor().run(request);
    if (!outcome) FAIL("run could not happen: " << outcome.error().message);
    return *outcome;
  }
};

}  // namespace

TEST_CASE("real quota: a run writing twice the quota into /data gets ENOSPC; another conversation keeps writing", "[root]") {
  Quotas q;
  auto full = q.spaces.open("writer");
  auto other = q.spaces.open("neighbour");
  REQUIRE(full);
  REQUIRE(other);
  const auto outcome = q.run(*full, "head -c 128M /dev/zero > /data/big; echo \"exit=$?\"; stat -c %s /data/big");
  CHECK(outcome.stdout_data.rfind("exit=1\n", 0) == 0);
  CHECK(outcome.stderr_data.find("No space left on device") != std::string::npos);
  const auto written = std::stoll(outcome.stdout_data.substr(7));
  CHECK(written < kQuota);
  CHECK(written > kQuota / 2);
  auto usage = q.spaces.usage(*full);
  REQUIRE(usage);
  CHECK(usage->full());
  // The host filesystem did not take it: the image holds the bytes, bounded by its size.
  struct stat image {};
  REQUIRE(::stat((integration::env().sandbox_root / ".images" / (full->name + ".ext4")).c_str(), &image) == 0);
  CHECK(image.st_blocks * 512 <= kQuota);

  const auto neighbour = q.run(*other, "head -c 8M /dev/zero > /data/ok && echo written");
  CHECK(neighbour.stdout_data == "written\n");
  CHECK(sandbox::SandboxFiles(other->server_path).write("upload.txt", "still fine"));
}

TEST_CASE("real quota: the file count is capped, and fallocate cannot reserve past the quota", "[root]") {
  Quotas q;
  auto workspace = q.spaces.open("counter");
  REQUIRE(workspace);
  const auto files = q.run(*workspace, R"(
n=0; while [ $n -lt 2000 ] && : > /data/f$n 2>/dev/null; do n=$((n+1)); done; echo "made=$n"
rm -f /data/f*
fallocate -l 200M /data/reserved 2>&1; echo "fallocate=$?"
rm -f /data/reserved  # a failed fallocate may keep what it got
fallocate -l 16M /data/small && echo small-ok
)");
  CHECK(files.stdout_data.find("made=5") == 0);  // ~500, never 2000
  CHECK(files.stdout_data.find("No space left on device") != std::string::npos);
  CHECK(files.stdout_data.find("fallocate=1") != std::string::npos);
  CHECK(files.stdout_data.find("small-ok") != std::string::npos);
  auto usage = q.spaces.usage(*workspace);
  REQUIRE(usage);
  CHECK(usage->used_bytes < kQuota);
}

TEST_CASE("real quota: the sweep removes an idle conversation and never one whose run is going on", "[root]") {
  Quotas q;
  std::string idle_name;
  {
    auto idle = q.spaces.open("idle");
    REQUIRE(idle);
    idle_name = idle->name;
    CHECK(q.run(*idle, "echo x > /data/x && echo ok").stdout_data == "ok\n");
  }
  auto active = q.spaces.open("active");
  REQUIRE(active);
  std::atomic<bool> started{false};
  runner::RunOutcome long_run;
  std::thread runner([&] {
    started = true;
    long_run = q.run(*active, "sleep 3; echo survived > /data/after; cat /data/after");
  });
  while (!started) std::this_thread::yield();
  *q.now += 10 * 86400;
  sandbox::SweepPolicy policy;
  policy.ttl_seconds = 86400;
  const auto report = q.spaces.sweep(policy);
  runner.join();
  CHECK(report.removed == 1);
  CHECK(report.in_use == 1);
  CHECK_FALSE(fs::exists(integration::env().sandbox_root / idle_name));
  CHECK(long_run.stdout_data == "survived\n");
  CHECK(fs::exists(active->server_path / "after"));
}

TEST_CASE("real quota: the engine sees the mounted volume at /data", "[root]") {
  Quotas q;
  auto workspace = q.spaces.open("seen");
  REQUIRE(workspace);
  const auto outcome = q.run(*workspace, "stat -f -c '%b %S' /data; echo hi > /data/hi");
  auto usage = q.spaces.usage(*workspace);
  REQUIRE(usage);
  std::istringstream fields(outcome.stdout_data);
  std::int64_t blocks = 0, block_size = 0;
  fields >> blocks >> block_size;
  CHECK(blocks * block_size == usage->total_bytes);
  CHECK(*sandbox::SandboxFiles(workspace->server_path).read("hi", 10) == "hi\n");
}
