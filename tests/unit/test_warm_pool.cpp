#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "runner/executor.hpp"
#include "runner/labels.hpp"
#include "support/fake_engine.hpp"
#include "support/temp_dir.hpp"

// Warm containers through the executor, with the fake engine and warm-start
// jobs run inline (deterministic: no threads, no sleeps).
namespace {

struct Fixture {
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  runner::TrackedContainers tracked;
  std::map<std::string, int> discards;
  int hits = 0;
  int misses = 0;
  std::size_t idle = 0;

  Fixture() {
    engine.add_runner("python", R"(["py"])");
    engine.add_runner("bash");
    catalog.reset(*runner::Registry::discover(engine));
  }

  runner::ExecutorOptions options(std::size_t warm_max = 4) {
    runner::ExecutorOptions o;
    o.instance_id = "test-instance";
    o.tracked = &tracked;
    o.warm_max = warm_max;
    o.warm_idle = std::chrono::seconds(60);
    o.warm_scheduler = [](std::function<void()> job) { job(); };
    o.warm_events = runner::WarmPoolEvents{[this](std::size_t n) { idle = n; },
                                           [this](bool hit) { (hit ? hits : misses)++; },
                                           [this](std::string_view reason) { discards[std::string(reason)]++; }};
    return o;
  }

  static runner::RunRequest request(const std::string& conversation, std::string language = "python") {
    runner::RunRequest r;
    r.language = std::move(language);
    r.code = "print(1)";
    r.workspace = sandbox::Workspace{conversation, "/srv/" + conversation, "/host/sandboxes/" + conversation, false, nullptr, {}};
    return r;
  }

  // The run id label of the container created n-th (0-based).
  std::string run_id_of(std::size_t n) const { return engine.created_specs.at(n).labels.at(runner::labels::kRunId); }
};

docker::ContainerSpec python_spec() {
  docker::ContainerSpec spec;
  spec.labels[runner::labels::kLanguage] = "python";
  return spec;
}

}  // namespace

TEST_CASE("warm: a conversation's follow-up run uses the container started after its previous run") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  auto first = executor.run(Fixture::request("conv-a"));
  REQUIRE(first);
  // Run 1 was cold (container 0); container 1 is its warm successor, started and waiting.
  REQUIRE(f.engine.created_specs.size() == 2);
  CHECK(f.misses == 1);
  CHECK(f.idle == 1);
  CHECK(f.engine.live_containers == std::set<std::string>{"fake2"});
  const auto warm_id = f.run_id_of(1);
  CHECK(f.tracked.contains(warm_id));  // the reaper leaves it alone
  // Same limits, hardening, mounts as a cold run; the image pinned by id.
  CHECK(runner::spec_fingerprint(f.engine.created_specs[0]) == runner::spec_fingerprint(f.engine.created_specs[1]));
  CHECK(f.engine.created_specs[1].image == "sha256:python");
  CHECK(f.engine.created_specs[1].binds == std::vector<std::string>{"/host/sandboxes/conv-a:/data:rw"});

  f.engine.received_input.clear();
  auto second = executor.run(Fixture::request("conv-a"));
  REQUIRE(second);
  CHECK(f.hits == 1);
  CHECK(second->run_id == warm_id);
  CHECK(second->stdout_data == "hello\n");
  CHECK(f.engine.received_input.ends_with("\n8\nprint(1)"));  // after the end-line token
  // Used once: the warm container is gone and no longer tracked; a new one waits.
  CHECK_FALSE(f.engine.live_containers.contains("fake2"));
  CHECK_FALSE(f.tracked.contains(warm_id));
  CHECK(f.engine.live_containers == std::set<std::string>{"fake3"});
  CHECK(f.discards.empty());
}

TEST_CASE("warm: a container warmed for one conversation never serves another") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  const auto warm_a = f.run_id_of(1);
  auto other = executor.run(Fixture::request("conv-b"));
  REQUIRE(other);
  CHECK(f.misses == 2);
  CHECK(f.hits == 0);
  CHECK(other->run_id != warm_a);
  CHECK(other->run_id == f.run_id_of(2));
  CHECK(f.engine.created_specs[2].binds == std::vector<std::string>{"/host/sandboxes/conv-b:/data:rw"});
  // conv-a's container still waits for conv-a, conv-b got its own.
  CHECK(f.engine.live_containers.contains("fake2"));
  CHECK(f.idle == 2);
}

TEST_CASE("warm: a rebuilt image discards the warm container at claim") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  f.engine.images[0].id = "sha256:python-rebuilt";

  // The next run misses and runs cold; its successor is made from the new image.
  auto next = executor.run(Fixture::request("conv-a"));
  REQUIRE(next);
  CHECK(f.hits == 0);
  CHECK(f.discards["image_changed"] == 1);
  CHECK_FALSE(f.engine.live_containers.contains("fake2"));
  CHECK(next->run_id == f.run_id_of(2));
  CHECK(f.engine.created_specs[3].image == "sha256:python-rebuilt");
}

TEST_CASE("warm: the sweep removes idle containers and containers of rebuilt images") {
  testing::FakeEngine engine;
  engine.add_runner("python");
  std::map<std::string, int> discards;
  runner::WarmPool pool(engine, runner::WarmPoolOptions{4, std::chrono::seconds(60), {}, 1, [](auto job) { job(); }},
                        runner::WarmPoolEvents{{}, {}, [&](std::string_view r) { discards[std::string(r)]++; }});
  auto starter = [&engine](const std::string& run_id) {
    return [&engine, run_id] {
      auto started =
          runner::start_run_container(engine, python_spec(), runner::RunIdentity{run_id, "i", 0}, nullptr);
      if (started) started->image_id = "sha256:python";
      return started;
    };
  };
  pool.prepare("a", "python", "mcp-sandbox/runner-python:latest", starter("r1"));
  const auto start = std::chrono::steady_clock::now();
  pool.sweep(start);
  CHECK(pool.idle() == 1);

  SECTION("idle past the limit") {
    pool.sweep(start + std::chrono::seconds(61));
    CHECK(pool.idle() == 0);
    CHECK(discards["idle"] == 1);
    CHECK(engine.live_containers.empty());
  }
  SECTION("image rebuilt") {
    engine.images[0].id = "sha256:new";
    pool.sweep(start);
    CHECK(pool.idle() == 0);
    CHECK(discards["image_changed"] == 1);
    CHECK(engine.live_containers.empty());
  }
  SECTION("the bound evicts the container idle the longest") {
    runner::WarmPool small(engine, runner::WarmPoolOptions{1, std::chrono::seconds(60), {}, 1, [](auto job) { job(); }},
                           runner::WarmPoolEvents{{}, {}, [&](std::string_view r) { discards[std::string(r)]++; }});
    small.prepare("b", "python", "mcp-sandbox/runner-python:latest", starter("r2"));
    small.prepare("c", "python", "mcp-sandbox/runner-python:latest", starter("r3"));
    CHECK(small.idle() == 1);
    CHECK(discards["evicted"] == 1);
    CHECK_FALSE(small.claim("b", "python", runner::spec_fingerprint(python_spec())));
    CHECK(small.claim("c", "python", runner::spec_fingerprint(python_spec())));
  }
}

TEST_CASE("warm: the successor is made with its run's environment, so the same environment hits") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  auto request = Fixture::request("conv-a");
  request.environment = {{"FILE_BASE_URL", "http://x/files/conv-a/"}};
  REQUIRE(executor.run(request));
  CHECK(f.engine.created_specs[1].env == std::vector<std::string>{"FILE_BASE_URL=http://x/files/conv-a/"});
  REQUIRE(executor.run(request));
  CHECK(f.hits == 1);
  // A network run is served cold and warms no successor.
  request.network = true;
  runner::ExecutorOptions with_network = f.options();
  with_network.allow_network = true;
  const testing::TempDir grants;
  with_network.egress.grants_dir = grants.path.string();
  f.engine.add_egress_proxy();
  runner::Executor networked(f.engine, f.catalog, with_network);
  const auto created = f.engine.created_specs.size();
  REQUIRE(networked.run(request));
  CHECK(f.engine.created_specs.size() == created + 1);
}

TEST_CASE("warm: a run whose spec differs (environment) does not take the warm container") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  auto with_env = Fixture::request("conv-a");
  with_env.environment = {{"SECRET", "x"}};
  auto next = executor.run(with_env);
  REQUIRE(next);
  CHECK(f.hits == 0);
  CHECK(f.discards["spec_changed"] == 1);
  CHECK(next->run_id == f.run_id_of(2));
  CHECK(f.engine.created_specs[2].env == std::vector<std::string>{"SECRET=x"});
}

TEST_CASE("warm: another language, a dead container and shutdown discard the warm container") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  SECTION("another language") {
    REQUIRE(executor.run(Fixture::request("conv-a", "bash")));
    CHECK(f.discards["language_changed"] == 1);
    // Its successor is for the language just used.
    CHECK(f.engine.created_specs.back().labels.at(runner::labels::kLanguage) == "bash");
  }
  SECTION("a container that died while waiting") {
    f.engine.exited_containers.insert("fake2");
    REQUIRE(executor.run(Fixture::request("conv-a")));
    CHECK(f.discards["dead"] == 1);
    CHECK(f.hits == 0);
  }
  SECTION("shutdown") {
    executor.shutdown();
    CHECK(f.discards["shutdown"] == 1);
    CHECK(f.engine.live_containers.empty());
    CHECK(f.tracked.size() == 0);
    executor.prewarm(Fixture::request("conv-a").workspace);
    CHECK(f.engine.live_containers.empty());  // nothing new after shutdown
  }
}

TEST_CASE("warm: prewarm after an upload uses the conversation's last language; off when WARM_MAX is 0") {
  Fixture f;
  SECTION("on") {
    runner::Executor executor(f.engine, f.catalog, f.options());
    const auto workspace = Fixture::request("conv-a").workspace;
    executor.prewarm(workspace);  // nothing known about conv-a yet
    CHECK(f.engine.created_specs.empty());
    REQUIRE(executor.run(Fixture::request("conv-a", "bash")));
    REQUIRE(executor.run(Fixture::request("conv-a", "bash")));
    CHECK(f.hits == 1);
    executor.prewarm(workspace);  // already warm: nothing new
    CHECK(f.engine.created_specs.size() == 3);
  }
  SECTION("off") {
    runner::Executor executor(f.engine, f.catalog, f.options(0));
    REQUIRE(executor.run(Fixture::request("conv-a")));
    REQUIRE(executor.run(Fixture::request("conv-a")));
    CHECK(f.engine.created_specs.size() == 2);
    CHECK(f.engine.live_containers.empty());
    CHECK(f.hits + f.misses == 0);
  }
}

namespace {

// Where the n-th (0-based) call named `name` is in the engine's call log; calls.size() when absent.
std::size_t position(const std::vector<std::string>& calls, const std::string& name, int n = 0) {
  for (std::size_t i = 0; i < calls.size(); ++i) {
    if (calls[i] == name && n-- == 0) return i;
  }
  return calls.size();
}

}  // namespace

TEST_CASE("warm: the successor starts once the run's code is delivered, before its output is collected") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  // The cold run's create/start, its code handed over (the first pump), then its successor's
  // start, then the rest of the output and the exit status.
  CHECK(position(f.engine.calls, "start") < position(f.engine.calls, "pump"));
  CHECK(position(f.engine.calls, "pump") < position(f.engine.calls, "start", 1));
  CHECK(position(f.engine.calls, "start", 1) < position(f.engine.calls, "wait"));
  CHECK(f.idle == 1);

  // A warm run starts its own successor the same way: a back-to-back call finds one waiting or starting.
  f.engine.calls.clear();
  auto second = executor.run(Fixture::request("conv-a"));
  REQUIRE(second);
  CHECK(f.hits == 1);
  CHECK(position(f.engine.calls, "pump") < position(f.engine.calls, "start"));
  CHECK(position(f.engine.calls, "start") < position(f.engine.calls, "wait"));
  CHECK(position(f.engine.calls, "start", 1) == f.engine.calls.size());  // one start: at most one successor
  CHECK(f.engine.live_containers.size() == 1);
  CHECK(f.idle == 1);
}

TEST_CASE("warm: a claim checks the waiting container without an engine call, and the image with one") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  f.engine.calls.clear();
  REQUIRE(executor.run(Fixture::request("conv-a")));
  CHECK(f.hits == 1);
  // Up to the code delivery: one image read, no container inspect, nothing created or started.
  const auto delivered = position(f.engine.calls, "pump");
  REQUIRE(delivered < f.engine.calls.size());
  const std::vector<std::string> before(f.engine.calls.begin(), f.engine.calls.begin() + static_cast<long>(delivered));
  CHECK(before == std::vector<std::string>{"inspect_image"});
}

TEST_CASE("warm: a network run neither takes nor leaves a successor") {
  Fixture f;
  auto options = f.options();
  options.allow_network = true;
  const testing::TempDir grants;
  options.egress.grants_dir = grants.path.string();
  f.engine.add_egress_proxy();
  runner::Executor executor(f.engine, f.catalog, options);
  auto request = Fixture::request("conv-a");
  request.network = true;
  REQUIRE(executor.run(request));
  CHECK(f.idle == 0);
  CHECK(f.engine.live_containers == std::set<std::string>{"egress-proxy"});  // the run's own is gone, none waits
}

TEST_CASE("warm: a cancelled run leaves no successor waiting") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.options());
  REQUIRE(executor.run(Fixture::request("conv-a")));
  std::stop_source client;
  f.engine.on_start = [&client] { client.request_stop(); };  // the client goes away as the successor starts
  auto request = Fixture::request("conv-a");
  request.cancel = client.get_token();
  CHECK_FALSE(executor.run(request));
  CHECK(f.discards["cancelled"] == 1);
  CHECK(f.idle == 0);
  CHECK(f.engine.live_containers.empty());
}

namespace {

// Starts recorded in order by the pool's own worker threads; a start may be held until released.
struct StartLog {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> started;
  bool released = false;

  runner::WarmPool::Starter starter(const std::string& name, bool hold = false) {
    return [this, name, hold]() -> core::Result<runner::StartedContainer> {
      std::unique_lock lock(mutex);
      started.push_back(name);
      changed.notify_all();
      if (hold) changed.wait(lock, [this] { return released; });
      return core::fail(core::ErrorKind::unavailable, "not started in this test");
    };
  }
  bool wait_for(std::size_t count) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return started.size() >= count; });
  }
  void release() {
    const std::lock_guard lock(mutex);
    released = true;
    changed.notify_all();
  }
};

}  // namespace

TEST_CASE("warm: a conversation's successor starts before new conversations' containers queued earlier") {
  testing::FakeEngine engine;
  runner::WarmPoolOptions options;
  options.workers = 1;
  runner::WarmPool pool(engine, options);
  StartLog log;
  pool.prepare("busy", "python", "img", log.starter("busy", true));
  REQUIRE(log.wait_for(1));  // the only worker is held
  pool.prepare("new-1", "python", "img", log.starter("new-1"), runner::WarmFor::new_conversation);
  pool.prepare("new-2", "python", "img", log.starter("new-2"), runner::WarmFor::new_conversation);
  pool.prepare("conv", "python", "img", log.starter("conv"));
  pool.prepare("conv-2", "python", "img", log.starter("conv-2"));
  log.release();
  REQUIRE(log.wait_for(5));
  const std::lock_guard lock(log.mutex);
  CHECK(log.started == std::vector<std::string>{"busy", "conv", "conv-2", "new-1", "new-2"});
}

TEST_CASE("warm: removing a used container never holds up a start") {
  testing::FakeEngine engine;
  std::mutex mutex;
  std::condition_variable changed;
  bool removing = false;
  bool may_remove = false;
  engine.on_remove = [&] {
    std::unique_lock lock(mutex);
    removing = true;
    changed.notify_all();
    changed.wait(lock, [&] { return may_remove; });
  };
  runner::WarmPoolOptions options;
  options.workers = 1;
  runner::WarmPool pool(engine, options);
  runner::StartedContainer used;
  used.id = "used";
  pool.retire(std::move(used));
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return removing; }));
  }
  StartLog log;
  pool.prepare("conv", "python", "img", log.starter("conv"));
  CHECK(log.wait_for(1));  // started while the removal is still held
  {
    const std::lock_guard lock(mutex);
    may_remove = true;
    changed.notify_all();
  }
  pool.shutdown();
}
