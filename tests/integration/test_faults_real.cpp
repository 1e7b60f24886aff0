// Faults against the real engine: orphans of this instance are reaped (and
// nobody else's), and a run whose container is removed from outside is
// reported as interrupted.
#include <catch2/catch.hpp>

#include <atomic>

#include "core/random.hpp"
#include "integration/integration_env.hpp"
#include "runner/labels.hpp"
#include "runner/reaper.hpp"

namespace {

using integration::env;

std::string label_of(const std::string& instance) { return std::string(runner::labels::kInstance) + "=" + instance; }

// A container labelled as a run of `instance`, created from the python runner image (not started).
std::string create_labelled(const std::string& instance, const std::string& run_id) {
  docker::ContainerSpec spec;
  spec.image = env().catalog.current()->find("python")->manifest.image;
  spec.cmd = {"sleep", "60"};
  spec.labels = {{runner::labels::kKind, runner::labels::kKindRun},
                 {runner::labels::kInstance, instance},
                 {runner::labels::kRunId, run_id}};
  auto id = env().engine->create_container(spec);
  REQUIRE(id);
  return *id;
}

std::size_t count_of(const std::string& instance) {
  auto listed = env().engine->list_containers(label_of(instance));
  REQUIRE(listed);
  return listed->size();
}

}  // namespace

TEST_CASE("real: the reaper removes this instance's untracked containers, in any state, and no one else's") {
  const std::string ours = env().instance_id + "-reaper-ours";
  const std::string theirs = env().instance_id + "-reaper-theirs";
  const auto created_orphan = create_labelled(ours, "orphan-created");
  const auto running_orphan = create_labelled(ours, "orphan-running");
  REQUIRE(env().engine->start_container(running_orphan));
  const auto exited_orphan = create_labelled(ours, "orphan-exited");
  REQUIRE(env().engine->start_container(exited_orphan));
  REQUIRE(env().engine->kill_container(exited_orphan));
  const auto live = create_labelled(ours, "live");
  const auto foreign = create_labelled(theirs, "orphan-created");

  runner::TrackedContainers tracked;
  const auto ticket = tracked.track("live");
  runner::Reaper reaper(*env().engine, tracked, ours);
  const auto reaped = reaper.sweep();
  REQUIRE(reaped);
  CHECK(*reaped == 3);

  auto left = env().engine->list_containers(label_of(ours));
  REQUIRE(left);
  REQUIRE(left->size() == 1);
  CHECK(left->front().id == live);
  CHECK(count_of(theirs) == 1);

  // Our own clean-up: only what this test made.
  CHECK(env().engine->remove_container(live));
  CHECK(env().engine->remove_container(foreign));
  CHECK(count_of(ours) == 0);
  CHECK(count_of(theirs) == 0);
}

TEST_CASE("real: a run whose container is removed from outside is reported as interrupted") {
  runner::ExecutorOptions options;
  options.instance_id = env().instance_id + "-vanish";
  runner::TrackedContainers tracked;
  options.tracked = &tracked;
  runner::Executor executor(*env().engine, env().catalog, options);
  auto spaces = integration::workspaces();
  auto workspace = spaces.open_ephemeral();
  REQUIRE(workspace);

  runner::RunRequest request;
  request.language = "python";
  request.code = "import time\nprint('started', flush=True)\ntime.sleep(60)\n";
  request.timeout_seconds = 60;
  request.workspace = *workspace;
  std::atomic<bool> removed{false};
  // The first progress tick comes while the program sleeps: remove its container
  // as an operator's `docker rm -f` would.
  request.on_progress = [&](std::chrono::milliseconds) {
    if (removed.exchange(true)) return;
    auto listed = env().engine->list_containers(label_of(options.instance_id));
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    REQUIRE(env().engine->remove_container(listed->front().id));
  };
  const auto started = std::chrono::steady_clock::now();
  auto outcome = executor.run(request);
  spaces.discard(*workspace);
  CHECK(removed);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == core::ErrorKind::unavailable);
  CHECK(outcome.error().message.rfind("run interrupted", 0) == 0);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK(count_of(options.instance_id) == 0);
  CHECK(tracked.size() == 0);
}
