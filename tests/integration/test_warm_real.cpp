// Warm containers against the real engine: a follow-up run served by a warm
// container must be indistinguishable, for the program, from a cold run.
#include <catch2/catch.hpp>

#include <thread>

#include "integration/integration_env.hpp"
#include "runner/labels.hpp"
#include "runner/new_conversation_pool.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/data_attach.hpp"
#include "sandbox/files.hpp"
#include "support/temp_dir.hpp"

namespace {

// Everything a program can observe about its container that the spec decides.
constexpr const char* kProbe = R"(import os, json
def read(path):
    try:
        return open(path).read().strip()
    except Exception as error:
        return type(error).__name__
status = [l.strip() for l in open('/proc/self/status') if l.startswith(('CapEff', 'CapBnd', 'NoNewPrivs', 'Seccomp'))]
print(json.dumps({
    'uid': os.getuid(), 'gid': os.getgid(), 'cwd': os.getcwd(),
    'env': {k: v for k, v in os.environ.items() if k != 'HOSTNAME'},
    'cpu': read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us') + read('/sys/fs/cgroup/cpu.max'),
    'memory': read('/sys/fs/cgroup/memory/memory.limit_in_bytes') + read('/sys/fs/cgroup/memory.max'),
    'pids': read('/sys/fs/cgroup/pids/pids.max') + read('/sys/fs/cgroup/pids.max'),
    'status': status,
    'root_writable': os.access('/', os.W_OK),
    'nofile': read('/proc/self/limits').count('1024'),
    'data': sorted(os.listdir('/data')),
    'note': read('/data/note.txt'),
}))
)";

struct WarmFixture {
  runner::TrackedContainers tracked;
  int hits = 0;
  int misses = 0;

  runner::Executor executor(const config::RunLimits& limits = {}, bool data_follows_mounts = false) {
    runner::ExecutorOptions options;
    options.data_follows_mounts = data_follows_mounts;
    options.limits = limits;
    options.instance_id = integration::env().instance_id;
    options.tracked = &tracked;
    options.warm_max = 4;
    // Warm starts run inline (at the end of run()): the next run's container is ready when run() returns.
    options.warm_scheduler = [](std::function<void()> job) { job(); };
    options.warm_events.claimed = [this](bool hit) { (hit ? hits : misses)++; };
    return runner::Executor(*integration::env().engine, integration::env().catalog, options);
  }
};

std::size_t containers_of(const std::string& run_id) {
  auto listed = integration::env().engine->list_containers(std::string(runner::labels::kRunId) + "=" + run_id);
  REQUIRE(listed);
  return listed->size();
}

}  // namespace

TEST_CASE("real warm: a follow-up run sees the conversation's /data and exactly the cold run's limits") {
  auto spaces = integration::workspaces();
  auto workspace = spaces.open("warm-conversation");
  REQUIRE(workspace);
  WarmFixture fixture;
  auto executor = fixture.executor();
  runner::RunRequest request;
  request.language = "python";
  request.workspace = *workspace;
  request.code = std::string("open('/data/note.txt', 'w').write('kept')\n") + kProbe;
  auto cold = executor.run(request);
  REQUIRE(cold);
  REQUIRE(cold->exit_code == 0);
  CHECK(fixture.misses == 1);
  REQUIRE(executor.warm_idle() == 1);

  request.code = kProbe;
  auto warm = executor.run(request);
  REQUIRE(warm);
  CHECK(fixture.hits == 1);
  CHECK(warm->exit_code == 0);
  CHECK(warm->stderr_data.empty());
  CHECK(warm->stdout_data == cold->stdout_data);  // same uid, cwd, env, cgroup limits, capabilities, /data
  CHECK(warm->stdout_data.find(R"("note": "kept")") != std::string::npos);
  // Used once: the warm container is gone; its successor waits, tracked for the reaper.
  CHECK(containers_of(warm->run_id) == 0);
  CHECK_FALSE(fixture.tracked.contains(warm->run_id));
  CHECK(fixture.tracked.size() == 1);

  // Another conversation never gets it.
  auto other = spaces.open("warm-other");
  REQUIRE(other);
  request.workspace = *other;
  request.code = "import os\nprint(os.listdir('/data'))\n";
  auto theirs = executor.run(request);
  REQUIRE(theirs);
  CHECK(theirs->stdout_data == "[]\n");
  CHECK(fixture.hits == 1);

  executor.shutdown();
  CHECK(fixture.tracked.size() == 0);
  auto left = integration::env().engine->list_containers(std::string(runner::labels::kInstance) + "=" +
                                                         integration::env().instance_id);
  REQUIRE(left);
  CHECK(left->empty());
  spaces.discard(*workspace);
  spaces.discard(*other);
}

TEST_CASE("real warm: the deadline counts from code delivery, not from the container's start") {
  auto spaces = integration::workspaces();
  auto workspace = spaces.open("warm-deadline");
  REQUIRE(workspace);
  WarmFixture fixture;
  config::RunLimits limits;
  limits.timeout_seconds = 2;
  auto executor = fixture.executor(limits);
  runner::RunRequest request;
  request.language = "bash";
  request.workspace = *workspace;
  request.code = "echo first";
  REQUIRE(executor.run(request));
  REQUIRE(executor.warm_idle() == 1);
  // The warm container has now waited longer than the whole time limit.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  request.code = "sleep 1; echo done";
  auto outcome = executor.run(request);
  REQUIRE(outcome);
  CHECK(fixture.hits == 1);
  CHECK_FALSE(outcome->timed_out);
  CHECK(outcome->stdout_data == "done\n");
  CHECK(outcome->duration >= std::chrono::milliseconds(1000));
  executor.shutdown();
  spaces.discard(*workspace);
}

TEST_CASE("real warm: a waiting container removed from outside is seen at claim from its closed stream; the run goes cold") {
  auto spaces = integration::workspaces();
  auto workspace = spaces.open("warm-removed");
  REQUIRE(workspace);
  WarmFixture fixture;
  auto executor = fixture.executor();
  runner::RunRequest request;
  request.language = "python";
  request.workspace = *workspace;
  request.code = "print('first')";
  auto first = executor.run(request);
  REQUIRE(first);
  REQUIRE(executor.warm_idle() == 1);
  // The successor, as an operator's `docker rm -f` (or an engine restart) would leave it: gone.
  auto ours = integration::env().engine->list_containers(std::string(runner::labels::kInstance) + "=" +
                                                         integration::env().instance_id);
  REQUIRE(ours);
  REQUIRE(ours->size() == 1);
  REQUIRE(integration::env().engine->remove_container(ours->front().id));

  request.code = "print('second')";
  auto second = executor.run(request);
  REQUIRE(second);
  CHECK(fixture.hits == 0);
  CHECK(fixture.misses == 2);
  CHECK(second->exit_code == 0);
  CHECK(second->stdout_data == "second\n");
  executor.shutdown();
  spaces.discard(*workspace);
}

TEST_CASE("real warm: a new conversation's first run is served by a pooled container on an empty /data of its own") {
  testing::TempDir state;
  auto index = sandbox::ConversationIndex::open(state.path, 100);
  REQUIRE(index);
  sandbox::Workspaces spaces(integration::env().sandbox_root, integration::env().sandbox_root.string(),
                             std::string(40, 'k'),
                             sandbox::WorkspaceOptions{{}, {}, std::shared_ptr<sandbox::ConversationIndex>(std::move(*index))});
  WarmFixture fixture;
  auto executor = fixture.executor();
  runner::NewConversationPool pool(executor, spaces,
                                   runner::NewConversationPoolOptions{2, std::chrono::seconds(600),
                                                                      std::chrono::milliseconds(0)});
  CHECK_FALSE(pool.take("python"));  // the language comes into use
  pool.tick(std::chrono::steady_clock::now());
  REQUIRE(pool.size() == 2);

  // Two new conversations: each its own directory and container, /data empty, writes its own file.
  std::vector<std::string> run_ids;
  std::vector<sandbox::Workspace> conversations;
  for (const char* id : {"pool-new-a", "pool-new-b"}) {
    auto fresh = pool.take("python");
    REQUIRE(fresh);
    auto adopted = spaces.adopt(id, *fresh);
    REQUIRE(adopted);
    runner::RunRequest request;
    request.language = "python";
    request.workspace = *adopted;
    request.files_url = "http://127.0.0.1/files/" + adopted->name + "/";
    request.code = std::string("import os\nprint(sorted(os.listdir('/data')))\nopen('/data/mine.txt', 'w').write('") +
                   id + "')\n";
    auto ran = executor.run(request);
    REQUIRE(ran);
    CHECK(ran->exit_code == 0);
    CHECK(ran->stdout_data == "[]\n");
    run_ids.push_back(ran->run_id);
    conversations.push_back(*adopted);
  }
  CHECK(fixture.hits == 2);
  CHECK(fixture.misses == 0);
  CHECK(run_ids[0] != run_ids[1]);
  CHECK(conversations[0].server_path != conversations[1].server_path);
  // The conversation keeps its directory: a follow-up sees what its first run wrote, and only that.
  auto again = spaces.open("pool-new-a");
  REQUIRE(again);
  CHECK(again->name == conversations[0].name);
  runner::RunRequest follow_up;
  follow_up.language = "python";
  follow_up.workspace = *again;
  follow_up.files_url = "http://127.0.0.1/files/" + again->name + "/";
  follow_up.code = "import os\nprint(sorted(os.listdir('/data')), open('/data/mine.txt').read())\n";
  auto ran = executor.run(follow_up);
  REQUIRE(ran);
  CHECK(ran->stdout_data == "['mine.txt'] pool-new-a\n");

  pool.shutdown();
  executor.shutdown();
  for (const auto& run_id : run_ids) CHECK(containers_of(run_id) == 0);
}

TEST_CASE("real warm: a started container lent to a conversation shows that conversation's /data, and only it") {
  const auto root = integration::env().sandbox_root;
  auto shared = sandbox::share_mounts_under(root);
  REQUIRE(shared);
  auto spaces = integration::workspaces();
  auto conversation = spaces.open("lend-conversation");
  auto other = spaces.open("lend-other");
  REQUIRE(conversation);
  REQUIRE(other);
  REQUIRE(sandbox::SandboxFiles(conversation->server_path).write("mine.txt", "kept"));
  REQUIRE(sandbox::SandboxFiles(other->server_path).write("theirs.txt", "secret"));
  WarmFixture fixture;
  {
    auto executor = fixture.executor({}, true);
    // A container started on a directory of its own, as the new-conversation pool starts them.
    auto pooled = spaces.open_ephemeral();
    REQUIRE(pooled);
    REQUIRE(executor.prewarm_new(*pooled, "python"));
    REQUIRE(executor.warm_ready(pooled->name));
    auto attached = sandbox::AttachedDirectory::attach(conversation->server_path, pooled->server_path);
    REQUIRE(attached);
    runner::RunRequest request;
    request.language = "python";
    request.workspace = *conversation;
    request.borrowed = *pooled;
    request.files_url = "http://127.0.0.1/files/" + conversation->name + "/";
    request.code =
        "import os\n"
        "print(sorted(os.listdir('.')), sorted(os.listdir('/data')), os.environ['FILE_BASE_URL'])\n"
        "open('made.txt', 'w').write('by the lent container')\n";
    auto ran = executor.run(request);
    REQUIRE(ran);
    CHECK(ran->exit_code == 0);
    CHECK(ran->stderr_data.empty());
    CHECK(ran->stdout_data == "['mine.txt'] ['mine.txt'] " + request.files_url + "\n");
    CHECK(fixture.hits == 1);  // the pooled container, not one started for the run
    CHECK(fixture.misses == 0);
    REQUIRE(attached->detach());
    // What the run wrote is the conversation's; the pooled directory is as empty as it was made.
    CHECK(*sandbox::SandboxFiles(conversation->server_path).read("made.txt", 100) == "by the lent container");
    CHECK(std::filesystem::is_empty(pooled->server_path));
    spaces.discard(*pooled);
    // The next run of the conversation (its own container, started by the run) sees the same files.
    request.borrowed.reset();
    request.code = "import os\nprint(sorted(os.listdir('.')))\n";
    auto next = executor.run(request);
    REQUIRE(next);
    CHECK(next->stdout_data == "['made.txt', 'mine.txt']\n");
    executor.shutdown();
  }
  if (*shared) REQUIRE(sandbox::unshare_mounts_under(root));
}

