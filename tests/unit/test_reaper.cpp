#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include "runner/labels.hpp"
#include "runner/reaper.hpp"
#include "support/fake_engine.hpp"

namespace {

docker::Labels run_labels(const std::string& instance, const std::string& run_id) {
  return {{runner::labels::kKind, runner::labels::kKindRun},
          {runner::labels::kInstance, instance},
          {runner::labels::kRunId, run_id}};
}

}  // namespace

TEST_CASE("the reaper removes our untracked run containers and nothing else", "[reaper]") {
  testing::FakeEngine engine;
  runner::TrackedContainers tracked;
  const auto orphan = engine.add_container(run_labels("ours", "orphan"));
  const auto live = engine.add_container(run_labels("ours", "live"));
  const auto foreign = engine.add_container(run_labels("theirs", "orphan"));
  auto not_a_run = run_labels("ours", "image-build");
  not_a_run[runner::labels::kKind] = runner::labels::kKindRunner;
  const auto other_kind = engine.add_container(not_a_run);
  const auto unlabelled = engine.add_container({});
  const auto ticket = tracked.track("live");

  std::size_t reported = 99;
  runner::Reaper reaper(engine, tracked, "ours", [&](std::size_t reaped) { reported = reaped; });
  const auto swept = reaper.sweep();

  REQUIRE(swept);
  CHECK(*swept == 1);
  CHECK(reported == 1);
  CHECK_FALSE(engine.live_containers.count(orphan));
  CHECK(engine.live_containers.count(live));
  CHECK(engine.live_containers.count(foreign));
  CHECK(engine.live_containers.count(other_kind));
  CHECK(engine.live_containers.count(unlabelled));
}

TEST_CASE("a container whose run ends is reaped by the next sweep", "[reaper]") {
  testing::FakeEngine engine;
  runner::TrackedContainers tracked;
  auto ticket = tracked.track("r1");
  const auto id = engine.add_container(run_labels("ours", "r1"));
  runner::Reaper reaper(engine, tracked, "ours");
  CHECK(reaper.sweep().value() == 0);
  ticket = {};
  CHECK(reaper.sweep().value() == 1);
  CHECK_FALSE(engine.live_containers.count(id));
}

TEST_CASE("a failed list is an error; a failed removal is counted as not reaped and retried", "[reaper]") {
  testing::FakeEngine engine;
  runner::TrackedContainers tracked;
  engine.add_container(run_labels("ours", "orphan"));
  runner::Reaper reaper(engine, tracked, "ours");

  engine.failures.emplace("list_containers", core::Error{core::ErrorKind::unavailable, "engine down"});
  const auto listed = reaper.sweep();
  REQUIRE_FALSE(listed);
  CHECK(listed.error().kind == core::ErrorKind::unavailable);
  engine.failures.clear();

  engine.failures.emplace("remove", core::Error{core::ErrorKind::unavailable, "engine down"});
  CHECK(reaper.sweep().value() == 0);
  CHECK(engine.live_containers.size() == 1);
  engine.failures.clear();
  CHECK(reaper.sweep().value() == 1);
  CHECK(engine.live_containers.empty());
}

TEST_CASE("the background reaper sweeps at start and stops promptly", "[reaper]") {
  testing::FakeEngine engine;
  runner::TrackedContainers tracked;
  engine.add_container(run_labels("ours", "orphan"));
  std::mutex mutex;
  std::condition_variable swept;
  int sweeps = 0;
  runner::Reaper reaper(engine, tracked, "ours", [&](std::size_t) {
    const std::lock_guard lock(mutex);
    ++sweeps;
    swept.notify_all();
  });
  // An interval far longer than the test: only the start-up sweep can happen,
  // and stop() must not wait for the next one.
  reaper.start(std::chrono::hours(1));
  {
    std::unique_lock lock(mutex);
    REQUIRE(swept.wait_for(lock, std::chrono::seconds(10), [&] { return sweeps >= 1; }));
  }
  const auto before_stop = std::chrono::steady_clock::now();
  reaper.stop();
  CHECK(std::chrono::steady_clock::now() - before_stop < std::chrono::seconds(5));
  CHECK(sweeps == 1);
  CHECK(engine.live_containers.empty());
}
