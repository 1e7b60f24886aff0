#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "core/random.hpp"
#include "sandbox/hmac.hpp"
#include "sandbox/workspace.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("mcp-sandbox-test-" + core::random_hex(6));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

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

TEST_CASE("workspace: a conversation maps to a stable directory named by an HMAC, never the id") {
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

TEST_CASE("workspace: directories belong to the runner user when we can give them away") {
  if (::geteuid() != 0) return;  // only root can chown; the suite runs as root in CI
  TempDir root;
  sandbox::Workspaces workspaces(root.path, root.path.string(), kSecret);
  auto workspace = workspaces.open("c");
  REQUIRE(workspace);
  struct stat info {};
  REQUIRE(::stat(workspace->server_path.c_str(), &info) == 0);
  CHECK(info.st_uid == sandbox::kRunnerUid);
  CHECK(info.st_gid == sandbox::kRunnerGid);
}

TEST_CASE("workspace: conversation ids are checked") {
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

TEST_CASE("workspace: a planted link is never used as a conversation directory") {
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

TEST_CASE("workspace: ephemeral directories are removed by discard; conversations are not") {
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
