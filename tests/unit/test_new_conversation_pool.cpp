#include <catch2/catch.hpp>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "runner/executor.hpp"
#include "runner/labels.hpp"
#include "runner/new_conversation_pool.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/workspace.hpp"
#include "support/fake_engine.hpp"
#include "support/temp_dir.hpp"

// The pool of started containers for new conversations, through the executor and its warm pool,
// with the fake engine, jobs run inline and tick() called by hand (no threads, no sleeps). Cases
// are [root]: fresh directories are given to the runner user (uid 1000).
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Fixture {
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  runner::TrackedContainers tracked;
  testing::TempDir root;
  testing::TempDir state;
  std::shared_ptr<sandbox::ConversationIndex> index;
  std::unique_ptr<sandbox::Workspaces> workspaces;
  std::map<std::string, int> discards;
  int warm_hits = 0;
  int taken_hits = 0;
  int taken_misses = 0;

  Fixture() {
    engine.add_runner("python", R"(["py"])");
    engine.add_runner("bash");
    catalog.reset(*runner::Registry::discover(engine));
    index = std::move(*sandbox::ConversationIndex::open(state.path, 100));
    workspaces = std::make_unique<sandbox::Workspaces>(root.path, "/host/sandboxes", std::string(40, 's'),
                                                       sandbox::WorkspaceOptions{{}, {}, index});
    REQUIRE(workspaces->prepare_root());
  }

  runner::ExecutorOptions executor_options(std::size_t warm_max = 8) {
    runner::ExecutorOptions o;
    o.instance_id = "test-instance";
    o.tracked = &tracked;
    o.warm_max = warm_max;
    o.warm_idle = std::chrono::seconds(600);
    o.warm_scheduler = [](std::function<void()> job) { job(); };
    o.warm_events = runner::WarmPoolEvents{{},
                                           [this](bool hit) { warm_hits += hit ? 1 : 0; },
                                           [this](std::string_view reason) { discards[std::string(reason)]++; }};
    return o;
  }

  runner::NewConversationPoolOptions pool_options(std::size_t per_language = 1) {
    return runner::NewConversationPoolOptions{per_language, std::chrono::seconds(100), std::chrono::milliseconds(0)};
  }

  runner::NewConversationPoolEvents pool_events() {
    return runner::NewConversationPoolEvents{[this](bool hit) { (hit ? taken_hits : taken_misses)++; }, {}};
  }

  // The first run of a new conversation `id` born in `fresh`.
  static runner::RunRequest first_run(const sandbox::Workspace& adopted) {
    runner::RunRequest r;
    r.language = "python";
    r.code = "print(1)";
    r.workspace = adopted;
    return r;
  }

  // The /data bind of the container created n-th.
  std::string bind_of(std::size_t n) const { return engine.created_specs.at(n).binds.at(0); }
  std::string run_id_of(std::size_t n) const { return engine.created_specs.at(n).labels.at(runner::labels::kRunId); }
};

}  // namespace

TEST_CASE("new conversations: a language gets started containers once in use; the first run claims one", "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), f.pool_events());

  // Nothing is started for a language nobody used.
  pool.tick(Clock::now());
  CHECK(f.engine.created_specs.empty());
  CHECK_FALSE(pool.take("py"));
  CHECK(f.taken_misses == 1);

  pool.tick(Clock::now());
  REQUIRE(f.engine.created_specs.size() == 1);
  CHECK(pool.size() == 1);
  CHECK(f.engine.created_specs[0].labels.at(runner::labels::kLanguage) == "python");

  auto fresh = pool.take("python");
  REQUIRE(fresh);
  CHECK(f.taken_hits == 1);
  CHECK(f.bind_of(0) == "/host/sandboxes/" + fresh->name + ":/data:rw");
  CHECK(fs::is_empty(fresh->server_path));
  auto adopted = f.workspaces->adopt("conv-new", *fresh);
  REQUIRE(adopted);
  fresh.reset();

  auto ran = executor.run(Fixture::first_run(*adopted));
  REQUIRE(ran);
  CHECK(f.warm_hits == 1);
  CHECK(ran->run_id == f.run_id_of(0));
  // Later calls of the conversation find its directory through the index.
  CHECK(f.workspaces->open("conv-new")->name == adopted->name);
}

TEST_CASE("new conversations: a started container is lent only where new conversations keep a pool, then refilled",
          "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  int lent = 0;
  auto events = f.pool_events();
  events.lent = [&lent] { ++lent; };
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), events);

  // Existing conversations' calls do not make a pool: nothing is lent, nothing started.
  CHECK_FALSE(pool.lend("python"));
  pool.tick(Clock::now());
  CHECK(f.engine.created_specs.empty());
  CHECK(lent == 0);

  CHECK_FALSE(pool.take("python"));  // a new conversation puts python in use
  pool.tick(Clock::now());
  REQUIRE(pool.size() == 1);
  auto borrowed = pool.lend("py");
  REQUIRE(borrowed);
  CHECK(lent == 1);
  CHECK(pool.size() == 0);
  CHECK(executor.warm_ready(borrowed->name));
  CHECK_FALSE(pool.lend("python"));  // one per pooled container
  pool.give_up(*borrowed);
  CHECK_FALSE(fs::exists(borrowed->server_path));
  pool.tick(Clock::now());
  CHECK(pool.size() == 1);  // refilled for the next new conversation
  CHECK(f.taken_hits == 0);  // a lend is no new conversation
}

TEST_CASE("new conversations: two new conversations never share a directory or a container", "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(2), f.pool_events());
  (void)pool.take("python");
  pool.tick(Clock::now());
  REQUIRE(pool.size() == 2);
  auto a = pool.take("python");
  auto b = pool.take("python");
  REQUIRE(a);
  REQUIRE(b);
  CHECK(a->name != b->name);
  CHECK_FALSE(pool.take("python"));  // used up until the next refill
  auto conv_a = f.workspaces->adopt("conv-a", *a);
  auto conv_b = f.workspaces->adopt("conv-b", *b);
  REQUIRE(conv_a);
  REQUIRE(conv_b);
  auto ran_a = executor.run(Fixture::first_run(*conv_a));
  auto ran_b = executor.run(Fixture::first_run(*conv_b));
  REQUIRE(ran_a);
  REQUIRE(ran_b);
  CHECK(f.warm_hits == 2);
  CHECK(ran_a->run_id != ran_b->run_id);
  // The refill makes new directories, never one handed out before.
  pool.tick(Clock::now());
  auto c = pool.take("python");
  REQUIRE(c);
  CHECK(c->name != a->name);
  CHECK(c->name != b->name);
}

TEST_CASE("new conversations: a pooled container whose run would differ is not used; its directory still is",
          "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), f.pool_events());
  (void)pool.take("python");
  pool.tick(Clock::now());
  auto fresh = pool.take("python");
  REQUIRE(fresh);
  auto adopted = f.workspaces->adopt("conv", *fresh);
  REQUIRE(adopted);
  auto request = Fixture::first_run(*adopted);
  request.environment["EXTRA"] = "1";
  auto ran = executor.run(request);
  REQUIRE(ran);
  CHECK(f.warm_hits == 0);
  CHECK(f.discards["spec_changed"] == 1);
  CHECK(ran->run_id != f.run_id_of(0));
}

TEST_CASE("new conversations: unused containers expire with their directories; a lost container is replaced",
          "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), f.pool_events());
  const auto start = Clock::now();
  (void)pool.take("python");
  pool.tick(start);
  REQUIRE(pool.size() == 1);
  const auto first_dir = f.root.path / fs::path(f.bind_of(0).substr(std::string("/host/sandboxes/").size(), 32));
  CHECK(fs::is_directory(first_dir));

  // Its container removed behind the pool's back (an image rebuild, WARM_MAX eviction): replaced.
  executor.warm_drop(first_dir.filename().string(), "image_changed");
  pool.tick(start);
  CHECK(pool.size() == 1);
  CHECK_FALSE(fs::exists(first_dir));
  REQUIRE(f.engine.created_specs.size() == 2);

  // Nobody started a python conversation for the idle lifetime: no pool, nothing left behind.
  pool.tick(start + std::chrono::seconds(101));
  CHECK(pool.size() == 0);
  CHECK(f.engine.live_containers.empty());
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(f.root.path)) {
    if (entry.path().filename().string().front() != '.') left.insert(entry.path().filename());
  }
  CHECK(left.empty());
  CHECK(f.discards["unused"] == 1);
}

TEST_CASE("new conversations: shutdown removes every pooled container and directory; off at 0 or without warm",
          "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  {
    runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(3), f.pool_events());
    (void)pool.take("python");
    (void)pool.take("bash");
    pool.tick(Clock::now());
    CHECK(pool.size() == 6);
    CHECK(f.engine.live_containers.size() == 6);
    pool.shutdown();
    CHECK(pool.size() == 0);
    CHECK(f.engine.live_containers.empty());
    CHECK(f.tracked.size() == 0);
  }
  std::size_t left = 0;
  for (const auto& entry : fs::directory_iterator(f.root.path)) left += entry.path().filename().string().front() != '.';
  CHECK(left == 0);

  runner::NewConversationPool off(executor, *f.workspaces, f.pool_options(0), f.pool_events());
  CHECK_FALSE(off.take("python"));
  off.tick(Clock::now());
  CHECK(off.size() == 0);

  runner::Executor cold(f.engine, f.catalog, f.executor_options(0));
  runner::NewConversationPool without_warm(cold, *f.workspaces, f.pool_options(), f.pool_events());
  (void)without_warm.take("python");
  without_warm.tick(Clock::now());
  CHECK(without_warm.size() == 0);
  left = 0;
  for (const auto& entry : fs::directory_iterator(f.root.path)) left += entry.path().filename().string().front() != '.';
  CHECK(left == 0);
}

TEST_CASE("new conversations: WARM_MAX bounds the pool", "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options(2));
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(4), f.pool_events());
  (void)pool.take("python");
  pool.tick(Clock::now());
  CHECK(pool.size() == 2);
  CHECK(executor.warm_idle() == 2);
  CHECK(f.discards["evicted"] == 0);
}

TEST_CASE("new conversations: with WARM_MAX taken by idle successors, the pool still refills after each take",
          "[root]") {
  // Every conversation leaves a successor waiting for WARM_IDLE_SECONDS; many conversations
  // (most of them never called again) fill WARM_MAX with them. The pool's container must not be
  // the one that makes room, and its refill must get a slot: the longest-idle successor goes.
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options(4));
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), f.pool_events());
  (void)pool.take("python");
  pool.tick(Clock::now());
  REQUIRE(pool.size() == 1);

  auto run_in = [&](const std::string& id) {
    auto workspace = f.workspaces->open(id);
    REQUIRE(workspace);
    auto request = Fixture::first_run(*workspace);
    REQUIRE(executor.run(request));
  };
  for (const auto* id : {"conv-1", "conv-2", "conv-3", "conv-4", "conv-5"}) run_in(id);
  CHECK(executor.warm_idle() == 4);
  CHECK(pool.size() == 1);  // the successors evicted each other, not the pooled container
  CHECK(f.discards["evicted"] == 2);

  for (int round = 0; round < 3; ++round) {
    auto fresh = pool.take("python");
    REQUIRE(fresh);
    auto adopted = f.workspaces->adopt("new-" + std::to_string(round), *fresh);
    REQUIRE(adopted);
    const auto hits_before = f.warm_hits;
    REQUIRE(executor.run(Fixture::first_run(*adopted)));
    CHECK(f.warm_hits == hits_before + 1);
    pool.tick(Clock::now());
    CHECK(pool.size() == 1);
    CHECK(executor.warm_idle() == 4);
  }
  CHECK(f.taken_hits == 3);
}

TEST_CASE("new conversations: pooled containers take at most half of WARM_MAX from successors", "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options(2));
  runner::NewConversationPool pool(executor, *f.workspaces, f.pool_options(), f.pool_events());
  auto conversation = f.workspaces->open("conv-1");
  REQUIRE(conversation);
  REQUIRE(executor.run(Fixture::first_run(*conversation)));
  auto other = f.workspaces->open("conv-2");
  REQUIRE(other);
  REQUIRE(executor.run(Fixture::first_run(*other)));
  REQUIRE(executor.warm_idle() == 2);
  (void)pool.take("python");
  (void)pool.take("bash");
  pool.tick(Clock::now());
  // One slot for a new conversation (conv-1's successor, idle the longest, made room), one kept for a successor.
  CHECK(pool.size() == 1);
  CHECK(executor.warm_idle() == 2);
  CHECK(executor.warm_holds(other->name));
  CHECK_FALSE(executor.warm_holds(conversation->name));
  // Ticks do not churn: nothing more is evicted while the pool holds its half.
  pool.tick(Clock::now());
  pool.tick(Clock::now());
  CHECK(f.discards["evicted"] == 1);
  CHECK(executor.warm_holds(other->name));
}

TEST_CASE("new conversations: a taken container is replaced as soon as its run ends, not at the next check",
          "[root]") {
  Fixture f;
  runner::Executor executor(f.engine, f.catalog, f.executor_options());
  std::mutex mutex;
  std::condition_variable changed;
  std::size_t pooled = 0;
  auto options = f.pool_options();
  options.check_interval = std::chrono::hours(1);  // the background thread runs; its periodic check never comes
  runner::NewConversationPool pool(executor, *f.workspaces, options,
                                   runner::NewConversationPoolEvents{{}, [&](std::size_t n) {
                                                                       const std::lock_guard lock(mutex);
                                                                       pooled = n;
                                                                       changed.notify_all();
                                                                     }});
  auto wait_for_pooled = [&](std::size_t n) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, std::chrono::seconds(10), [&] { return pooled == n; });
  };

  CHECK_FALSE(pool.take("python"));  // the language is now in use
  pool.run_ended();
  REQUIRE(wait_for_pooled(1));

  auto fresh = pool.take("python");
  REQUIRE(fresh);
  CHECK(pool.size() == 0);
  auto adopted = f.workspaces->adopt("conv-new", *fresh);
  REQUIRE(adopted);
  REQUIRE(executor.run(Fixture::first_run(*adopted)));
  CHECK(f.warm_hits == 1);
  pool.run_ended();
  REQUIRE(wait_for_pooled(1));
  CHECK(pool.take("python"));
}
