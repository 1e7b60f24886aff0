#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/random.hpp"
#include "sandbox/files.hpp"
#include "sandbox/hmac.hpp"
#include "sandbox/workspace.hpp"
#include "support/mounts.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

// Cases tagged [root] run only as root and are reported skipped otherwise (support/test_session.hpp):
// opening a conversation gives its directory to the runner user (uid 1000), and quota volumes are
// loop-mounted.

namespace {

using testing::TempDir;

const std::string kSecret(40, 's');

}  // namespace

TEST_CASE("hmac: known answer (RFC 4231 test case 2)") {
  CHECK(sandbox::hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(sandbox::constant_time_equal("abc", "abc"));
  CHECK_FALSE(sandbox::constant_time_equal("abc", "abd"));
  CHECK_FALSE(sandbox::constant_time_equal("abc", "abcd"));
  CHECK(sandbox::derive_key(kSecret, "a") != sandbox::derive_key(kSecret, "b"));
}

TEST_CASE("workspace: a conversation maps to a stable directory named by an HMAC, never the id", "[root]") {
  TempDir root;
  sandbox::Workspaces workspaces(root.path, "/host/sandboxes", kSecret);
  REQUIRE(workspaces.prepare_root());
  auto first = workspaces.open("conversation-1");
  REQUIRE(first);
  CHECK(first->name.size() == 32);
  CHECK(first->name.find("conversation") == std::string::npos);
  CHECK(first->engine_path == "/host/sandboxes/" + first->name);
  CHECK(fs::is_directory(first->server_path));
  auto again = workspaces.open("conversation-1");
  REQUIRE(again);
  CHECK(again->name == first->name);
  auto other = workspaces.open("conversation-2");
  REQUIRE(other);
  CHECK(other->name != first->name);

  sandbox::Workspaces other_secret(root.path, "/host/sandboxes", std::string(40, 't'));
  CHECK(other_secret.open("conversation-1")->name != first->name);
}

TEST_CASE("workspace: directories belong to the runner user", "[root]") {
  TempDir root;
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret);
  auto workspace = workspaces.open("c");
  REQUIRE(workspace);
  struct stat info {};
  REQUIRE(::stat(workspace->server_path.c_str(), &info) == 0);
  CHECK(info.st_uid == sandbox::kRunnerUid);
  CHECK(info.st_gid == sandbox::kRunnerGid);
}

TEST_CASE("workspace: conversation ids are checked", "[root]") {
  TempDir root;
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret);
  for (const std::string& bad : std::vector<std::string>{"", "../x", "a/b", "with space", std::string(129, 'a'), std::string("nul\0", 4)}) {
    CAPTURE(bad);
    auto workspace = workspaces.open(bad);
    REQUIRE_FALSE(workspace);
    CHECK(workspace.error().kind == core::ErrorKind::invalid_argument);
  }
  CHECK(workspaces.open("user@example.com:chat-1_2.3"));
}

TEST_CASE("workspace: a planted link is never used as a conversation directory", "[root]") {
  TempDir root;
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret);
  auto workspace = workspaces.open("victim");
  REQUIRE(workspace);
  fs::remove(workspace->server_path);
  fs::create_directory_symlink("/etc", workspace->server_path);
  auto reopened = workspaces.open("victim");
  REQUIRE_FALSE(reopened);
  CHECK(reopened.error().message.find("not a directory") != std::string::npos);
}

TEST_CASE("workspace: ephemeral directories are removed by discard; conversations are not", "[root]") {
  TempDir root;
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret);
  auto temp = workspaces.open_ephemeral();
  auto kept = workspaces.open("keep");
  REQUIRE(temp);
  REQUIRE(kept);
  CHECK(temp->ephemeral);
  workspaces.discard(*temp);
  workspaces.discard(*kept);
  CHECK_FALSE(fs::exists(temp->server_path));
  CHECK(fs::exists(kept->server_path));
}

TEST_CASE("workspace: an unwritable root is reported with what to fix") {
  sandbox::Workspaces workspaces("/proc/mcp-sandbox-cannot-exist", "/x", kSecret);
  auto ready = workspaces.prepare_root();
  REQUIRE_FALSE(ready);
  CHECK(ready.error().message.find("SANDBOX_ROOT") != std::string::npos);
}

namespace {

// A clock the test moves by hand, shared with the Workspaces under test.
struct FakeClock {
  std::shared_ptr<std::int64_t> seconds = std::make_shared<std::int64_t>(1'800'000'000);
  std::function<std::int64_t()> function() const {
    return [s = seconds] { return *s; };
  }
  void advance(std::int64_t by) const { *seconds += by; }
};

constexpr std::int64_t kDay = 86400;

sandbox::SweepPolicy ttl(std::int64_t seconds) {
  sandbox::SweepPolicy policy;
  policy.ttl_seconds = seconds;
  return policy;
}

// Quota-backed workspaces under a temp root; removes every mount it made.
struct QuotaRoot {
  TempDir root;
  FakeClock clock;
  sandbox::Workspaces workspaces{root.path, root.path.string(), kSecret,
                                 sandbox::WorkspaceOptions{{32 * 1024 * 1024, 200}, clock.function(), nullptr}};
  QuotaRoot() { REQUIRE(workspaces.prepare_root()); }
  ~QuotaRoot() {
    clock.advance(3650 * kDay);
    workspaces.sweep(ttl(1));
    for (const auto& entry : fs::directory_iterator(root.path)) {
      if (sandbox::is_mount_point(entry.path()).value_or(false)) (void)sandbox::unmount_volume(entry.path());
    }
  }
};

}  // namespace

TEST_CASE("workspace: with a quota each conversation is its own mounted volume, re-used after a restart", "[root]") {
  QuotaRoot q;
  REQUIRE(q.workspaces.check_quota_support());
  auto workspace = q.workspaces.open("c1");
  REQUIRE(workspace);
  CHECK(*sandbox::is_mount_point(workspace->server_path));
  CHECK(fs::is_empty(workspace->server_path));  // no lost+found
  CHECK(fs::exists(q.root.path / ".images" / (workspace->name + ".ext4")));
  auto usage = q.workspaces.usage(*workspace);
  REQUIRE(usage);
  CHECK(usage->used_files == 0);
  CHECK(usage->total_files >= 200);
  CHECK_FALSE(usage->full());

  // A second server on the same root (a restart) finds the mount and does not stack another.
  sandbox::Workspaces restarted(q.root.path, q.root.path.string(), kSecret,
                                sandbox::WorkspaceOptions{{32 * 1024 * 1024, 200}, q.clock.function(), nullptr});
  REQUIRE(restarted.open("c1"));
  CHECK(testing::mount_count(workspace->server_path) == 1);
}

TEST_CASE("workspace: a throwaway directory a conversation was left attached on is removed, the conversation kept",
          "[root]") {
  // A process that ended mid-run leaves a conversation's volume bound on top of the pooled
  // directory's own: removing that directory unmounts both, and deletes only what is its own.
  QuotaRoot q;
  auto conversation = q.workspaces.open("c1");
  REQUIRE(conversation);
  REQUIRE(sandbox::SandboxFiles(conversation->server_path).write("mine.txt", "kept"));
  auto pooled = q.workspaces.open_ephemeral();
  REQUIRE(pooled);
  REQUIRE(::mount(conversation->server_path.c_str(), pooled->server_path.c_str(), nullptr, MS_BIND, nullptr) == 0);
  REQUIRE(testing::mount_count(pooled->server_path) == 2);
  q.workspaces.discard(*pooled);
  CHECK_FALSE(fs::exists(pooled->server_path));
  CHECK(testing::mount_count(pooled->server_path) == 0);
  CHECK(*sandbox::SandboxFiles(conversation->server_path).read("mine.txt", 100) == "kept");
  CHECK(testing::mount_count(conversation->server_path) == 1);
}

TEST_CASE("workspace: concurrent first opens of one conversation mount it once", "[root]") {
  QuotaRoot q;
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (q.workspaces.open("shared")) ++opened;
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(opened == 8);
  CHECK(testing::mount_count(q.workspaces.open("shared")->server_path) == 1);
}

TEST_CASE("workspace: an upload past the quota fails and leaves no partial file; others keep writing", "[root]") {
  QuotaRoot q;
  auto full = q.workspaces.open("full");
  auto other = q.workspaces.open("other");
  REQUIRE(full);
  REQUIRE(other);
  sandbox::SandboxFiles files(full->server_path);
  REQUIRE(files.write("keep.txt", "old content"));
  auto written = files.write("keep.txt", std::string(40 * 1024 * 1024, 'x'));
  REQUIRE_FALSE(written);
  CHECK(written.error().kind == core::ErrorKind::unavailable);
  CHECK(written.error().message.find("no space left") != std::string::npos);
  CHECK(*files.read("keep.txt", 100) == "old content");
  auto listing = files.list("", true);
  REQUIRE(listing);
  CHECK(listing->entries.size() == 1);  // no temporary left behind
  CHECK(sandbox::SandboxFiles(other->server_path).write("fine.txt", std::string(1024 * 1024, 'y')));
}

TEST_CASE("workspace: the sweep deletes conversations idle past the TTL, never one in use", "[root]") {
  QuotaRoot q;
  auto idle = q.workspaces.open("idle");
  auto busy = q.workspaces.open("busy");
  auto recent = q.workspaces.open("recent");
  REQUIRE(idle);
  REQUIRE(busy);
  REQUIRE(recent);
  REQUIRE(sandbox::SandboxFiles(idle->server_path).write("a/b.txt", "x"));
  const auto idle_dir = idle->server_path;
  const auto idle_name = idle->name;
  idle = core::fail(core::ErrorKind::not_found, "released");  // drops the lease
  recent = core::fail(core::ErrorKind::not_found, "released");

  q.clock.advance(2 * kDay);
  REQUIRE(q.workspaces.open("recent"));  // used again now
  q.clock.advance(2 * kDay);

  auto report = q.workspaces.sweep(ttl(3 * kDay));
  CHECK(report.removed == 1);
  CHECK(report.in_use == 1);
  CHECK(report.problems.empty());
  CHECK_FALSE(fs::exists(idle_dir));
  CHECK_FALSE(fs::exists(q.root.path / ".images" / (idle_name + ".ext4")));
  CHECK_FALSE(fs::exists(q.root.path / ".last-use" / idle_name));
  CHECK(fs::exists(busy->server_path));
  CHECK(*sandbox::is_mount_point(busy->server_path));
  CHECK(fs::exists(q.root.path / q.workspaces.open("recent")->name));

  // TTL 0 keeps everything, however old.
  busy = core::fail(core::ErrorKind::not_found, "released");
  q.clock.advance(365 * kDay);
  report = q.workspaces.sweep(ttl(0));
  CHECK(report.removed == 0);

  // A deleted conversation comes back empty when used again.
  auto again = q.workspaces.open("idle");
  REQUIRE(again);
  CHECK(fs::is_empty(again->server_path));
}

TEST_CASE("workspace: idle volumes are unmounted and mounted again on the next use, files intact", "[root]") {
  QuotaRoot q;
  std::string name;
  {
    auto workspace = q.workspaces.open("c");
    REQUIRE(workspace);
    name = workspace->name;
    REQUIRE(sandbox::SandboxFiles(workspace->server_path).write("kept.txt", "kept"));
  }
  q.clock.advance(3600);
  auto report = q.workspaces.sweep(ttl(30 * kDay));
  CHECK(report.unmounted == 1);
  CHECK_FALSE(*sandbox::is_mount_point(q.root.path / name));
  // A download link reaches it by name; that mounts it again.
  auto existing = q.workspaces.open_existing(name);
  REQUIRE(existing);
  CHECK(*sandbox::SandboxFiles(existing->server_path).read("kept.txt", 10) == "kept");
  CHECK(q.workspaces.open_existing("0123456789abcdef0123456789abcdef").error().kind == core::ErrorKind::not_found);
  CHECK(q.workspaces.open_existing("../etc").error().kind == core::ErrorKind::not_found);
}

TEST_CASE("workspace: the sweep never follows links and removes deep trees and leftover throwaways", "[root]") {
  TempDir root;
  TempDir outside;
  FakeClock clock;
  std::ofstream(outside.path / "precious.txt") << "host file";
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret,
                                 sandbox::WorkspaceOptions{{}, clock.function(), nullptr});
  REQUIRE(workspaces.prepare_root());
  fs::path dir;
  fs::path temp_dir;
  {
    auto workspace = workspaces.open("linked");
    REQUIRE(workspace);
    dir = workspace->server_path;
    fs::create_directory_symlink(outside.path, dir / "to-outside");
    fs::create_symlink(outside.path / "precious.txt", dir / "file-link");
    fs::path deep = dir;
    for (int i = 0; i < 150; ++i) {
      deep /= "d";
      REQUIRE(::mkdir(deep.c_str(), 0755) == 0);
    }
    std::ofstream(deep / "leaf") << "x";
    auto temp = workspaces.open_ephemeral();  // a run's throwaway a crash left behind
    REQUIRE(temp);
    temp_dir = temp->server_path;
  }
  // A name the server did not make is never touched.
  fs::create_directory(root.path / "not-ours");

  clock.advance(kDay);
  auto report = workspaces.sweep(ttl(30 * kDay));
  CHECK(report.removed == 1);  // the throwaway only
  CHECK_FALSE(fs::exists(temp_dir));
  CHECK(fs::exists(dir));

  clock.advance(30 * kDay);
  report = workspaces.sweep(ttl(30 * kDay));
  CHECK(report.removed == 1);
  CHECK(report.problems.empty());
  CHECK_FALSE(fs::exists(dir));
  CHECK(fs::exists(outside.path / "precious.txt"));
  CHECK(fs::exists(root.path / "not-ours"));
}

TEST_CASE("workspace: find never creates a conversation; without mounting it neither mounts nor counts as a use",
          "[root]") {
  QuotaRoot q;
  CHECK(q.workspaces.find("never-used", true).error().kind == core::ErrorKind::not_found);
  CHECK(q.workspaces.find("never-used", false).error().kind == core::ErrorKind::not_found);
  CHECK(q.workspaces.find("bad id", true).error().kind == core::ErrorKind::invalid_argument);
  std::string name;
  {
    auto workspace = q.workspaces.open("c");
    REQUIRE(workspace);
    name = workspace->name;
  }
  {
    auto looked = q.workspaces.find("c", false);  // mounted: a look is possible
    REQUIRE(looked);
    CHECK(looked->name == name);
  }
  q.clock.advance(3600);
  {
    auto looked = q.workspaces.find("c", false);  // a look an hour later is not a use...
    REQUIRE(looked);
  }
  CHECK(q.workspaces.sweep(ttl(30 * kDay)).unmounted == 1);  // ...so the sweep still finds it idle
  CHECK(q.workspaces.find("c", false).error().kind == core::ErrorKind::not_found);  // idle: not mounted for a look
  CHECK_FALSE(*sandbox::is_mount_point(q.root.path / name));
  auto reopened = q.workspaces.find("c", true);  // a read mounts it, as the tools would
  REQUIRE(reopened);
  CHECK(*sandbox::is_mount_point(reopened->server_path));
}

namespace {

// Workspaces with a conversation index in a state directory beside the root.
struct IndexedRoot {
  TempDir root;
  TempDir state;
  FakeClock clock;
  std::shared_ptr<sandbox::ConversationIndex> index = open_index();
  sandbox::Workspaces workspaces{root.path, "/host/sandboxes", kSecret,
                                 sandbox::WorkspaceOptions{{}, clock.function(), index}};
  IndexedRoot() { REQUIRE(workspaces.prepare_root()); }

  std::shared_ptr<sandbox::ConversationIndex> open_index() {
    auto opened = sandbox::ConversationIndex::open(state.path, 100, clock.function());
    REQUIRE(opened);
    return std::move(*opened);
  }
};

}  // namespace

TEST_CASE("workspace: a root of the original layout (directories named by the HMAC) keeps working with an index",
          "[root]") {
  TempDir root;
  TempDir state;
  std::string name;
  {
    // Made before the index existed.
    sandbox::Workspaces before(root.path, "/host/sandboxes", kSecret);
    REQUIRE(before.prepare_root());
    auto old = before.open("old-conversation");
    REQUIRE(old);
    name = old->name;
    REQUIRE(sandbox::SandboxFiles(old->server_path).write("kept.txt", "from before"));
  }
  auto index = sandbox::ConversationIndex::open(state.path, 100);
  REQUIRE(index);
  sandbox::Workspaces after(root.path, "/host/sandboxes", kSecret,
                            sandbox::WorkspaceOptions{{}, {}, std::shared_ptr<sandbox::ConversationIndex>(std::move(*index))});
  REQUIRE(after.prepare_root());
  CHECK(after.exists("old-conversation").value());
  auto same = after.open("old-conversation");
  REQUIRE(same);
  CHECK(same->name == name);
  CHECK(same->key == name);
  CHECK(*sandbox::SandboxFiles(same->server_path).read("kept.txt", 100) == "from before");
  // Its download links (by directory name) still resolve.
  CHECK(after.open_existing(name));
}

TEST_CASE("workspace: a new conversation adopts a directory made before it, empty and never anyone else's",
          "[root]") {
  IndexedRoot r;
  auto first = r.workspaces.open_unbound();
  auto second = r.workspaces.open_unbound();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->name != second->name);
  CHECK(first->name.size() == 32);
  CHECK(first->key.empty());
  CHECK(fs::is_empty(first->server_path));
  CHECK(first->engine_path == "/host/sandboxes/" + first->name);

  CHECK_FALSE(r.workspaces.exists("new-one").value());
  auto adopted = r.workspaces.adopt("new-one", *first);
  REQUIRE(adopted);
  CHECK(adopted->name == first->name);
  CHECK(adopted->key == r.workspaces.key_of("new-one"));
  CHECK_FALSE(adopted->ephemeral);
  REQUIRE(sandbox::SandboxFiles(adopted->server_path).write("f.txt", "mine"));
  // From now on the conversation lives there, for this and later processes.
  CHECK(r.workspaces.exists("new-one").value());
  CHECK(r.workspaces.open("new-one")->name == first->name);
  sandbox::Workspaces restarted(r.root.path, "/host/sandboxes", kSecret,
                                sandbox::WorkspaceOptions{{}, {}, r.index});
  CHECK(restarted.open("new-one")->name == first->name);

  // Neither a second adoption of the conversation nor of the directory.
  CHECK_FALSE(r.workspaces.adopt("new-one", *second));
  CHECK_FALSE(r.workspaces.adopt("other", *first));
  // A conversation that already has its own directory is not new.
  REQUIRE(r.workspaces.open("existing"));
  auto refused = r.workspaces.adopt("existing", *second);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == core::ErrorKind::conflict);
  // An unadopted directory is thrown away by discard; an adopted one is not.
  r.workspaces.discard(*second);
  CHECK_FALSE(fs::exists(second->server_path));
  r.workspaces.discard(*adopted);
  CHECK(fs::exists(adopted->server_path));
}

TEST_CASE("workspace: the sweep forgets a removed conversation in the index; it comes back in its own directory",
          "[root]") {
  IndexedRoot r;
  auto unbound = r.workspaces.open_unbound();
  REQUIRE(unbound);
  auto adopted = r.workspaces.adopt("c", *unbound);
  REQUIRE(adopted);
  REQUIRE(r.workspaces.record_use("token:t", *adopted));
  CHECK(r.index->used_by("token:t", adopted->key));
  const auto directory = adopted->server_path;
  unbound = core::fail(core::ErrorKind::not_found, "released");
  adopted = core::fail(core::ErrorKind::not_found, "released");
  r.clock.advance(10 * kDay);
  auto report = r.workspaces.sweep(ttl(kDay));
  CHECK(report.removed == 1);
  CHECK_FALSE(fs::exists(directory));
  CHECK_FALSE(r.index->used_by("token:t", r.workspaces.key_of("c")));
  auto again = r.workspaces.open("c");
  REQUIRE(again);
  CHECK(again->name == r.workspaces.key_of("c"));
  CHECK(fs::is_empty(again->server_path));
}

TEST_CASE("workspace: record_use lists the conversation for its caller only, and nothing for a throwaway", "[root]") {
  IndexedRoot r;
  auto workspace = r.workspaces.open("c1");
  REQUIRE(workspace);
  REQUIRE(r.workspaces.record_use("token:a", *workspace));
  REQUIRE(r.workspaces.record_use("", *workspace));
  auto throwaway = r.workspaces.open_ephemeral();
  REQUIRE(throwaway);
  REQUIRE(r.workspaces.record_use("token:a", *throwaway));
  auto list = r.index->recent("token:a", 10);
  REQUIRE(list);
  REQUIRE(list->size() == 1);
  CHECK(list->front().key == workspace->key);
}

TEST_CASE("workspace: a pooled directory no conversation adopted is removed by the sweep once nothing holds it",
          "[root]") {
  IndexedRoot r;
  auto pooled = r.workspaces.open_unbound();
  REQUIRE(pooled);
  const auto directory = pooled->server_path;
  CHECK(r.index->unborn().value() == std::vector<std::string>{pooled->name});
  // Held by its pool: kept, and not reported as a conversation in use.
  auto held = r.workspaces.sweep(ttl(0));
  CHECK(held.removed == 0);
  CHECK(held.in_use == 0);
  CHECK(fs::exists(directory));
  // Its process ends without removing it (a crash): the next process's first sweep removes it,
  // with no TTL to wait for.
  pooled = core::fail(core::ErrorKind::not_found, "released");
  sandbox::Workspaces restarted(r.root.path, "/host/sandboxes", kSecret,
                                sandbox::WorkspaceOptions{{}, r.clock.function(), r.index});
  auto report = restarted.sweep(sandbox::SweepPolicy{});
  CHECK(report.removed == 1);
  CHECK(report.problems.empty());
  CHECK_FALSE(fs::exists(directory));
  CHECK(r.index->unborn().value().empty());

  // An adopted one is a conversation: the sweep keeps it; discard() of an unadopted one ends its
  // reservation with it.
  auto adopted_from = r.workspaces.open_unbound();
  REQUIRE(adopted_from);
  auto adopted = r.workspaces.adopt("kept", *adopted_from);
  REQUIRE(adopted);
  adopted_from = core::fail(core::ErrorKind::not_found, "released");
  const auto kept = adopted->server_path;
  adopted = core::fail(core::ErrorKind::not_found, "released");
  auto discarded = r.workspaces.open_unbound();
  REQUIRE(discarded);
  r.workspaces.discard(*discarded);
  CHECK(r.index->unborn().value().empty());
  CHECK(restarted.sweep(sandbox::SweepPolicy{}).removed == 0);
  CHECK(fs::exists(kept));
}

TEST_CASE("workspace: two first calls of one new conversation, one adopting and one opening, agree on its directory",
          "[root]") {
  IndexedRoot r;
  for (int round = 0; round < 20; ++round) {
    const std::string id = "race-" + std::to_string(round);
    auto pooled = r.workspaces.open_unbound();
    REQUIRE(pooled);
    std::string adopting;
    std::string opening;
    std::atomic<int> ready{0};
    const auto start_together = [&ready] {
      ready.fetch_add(1);
      while (ready.load() < 2) std::this_thread::yield();
    };
    std::thread adopter([&] {
      start_together();
      // What a run_code first call does: adopt the pooled directory, or live where the winner put it.
      auto adopted = r.workspaces.adopt(id, *pooled);
      if (!adopted) {
        r.workspaces.discard(*pooled);
        adopted = r.workspaces.open(id);
      }
      if (adopted) adopting = adopted->name;
    });
    std::thread opener([&] {
      start_together();
      auto opened = r.workspaces.open(id);  // a call the pool cannot serve (network), or an empty pool
      if (opened) opening = opened->name;
    });
    adopter.join();
    opener.join();
    CAPTURE(round);
    REQUIRE_FALSE(adopting.empty());
    CHECK(adopting == opening);
    CHECK(r.workspaces.open(id)->name == adopting);
  }
}
