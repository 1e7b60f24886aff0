#include <catch2/catch.hpp>

#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sandbox/data_attach.hpp"
#include "support/mounts.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// Lines as the kernel writes them: id parent dev root mount-point options optional... - type source super
constexpr const char* kMountinfo =
    "22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 8:1 /srv /srv rw,relatime shared:5 - ext4 /dev/vda rw\n"
    "31 30 8:1 /srv/slave /srv/slave rw,relatime master:5 - ext4 /dev/vda rw\n"
    "32 22 8:1 /data\\040dir /data\\040dir rw,relatime shared:7 master:2 - ext4 /dev/vda rw\n"
    "33 30 8:1 /x /srv/top rw,relatime - ext4 /dev/vda rw\n"
    "34 30 8:1 /y /srv/top rw,relatime shared:9 - ext4 /dev/vda rw\n";

std::string read(const fs::path& file) {
  std::ifstream in(file);
  std::string text;
  std::getline(in, text);
  return text;
}

}  // namespace

TEST_CASE("data attach: the mount holding a path is the longest mount point above it, with its propagation") {
  auto below = sandbox::propagation_in(kMountinfo, "/srv/sandboxes/abc");
  REQUIRE(below);
  CHECK(below->mount_point == "/srv");
  CHECK(below->shared);
  CHECK_FALSE(below->slave);
  // A name that only begins like a mount point is not below it.
  auto beside = sandbox::propagation_in(kMountinfo, "/srvx/abc");
  REQUIRE(beside);
  CHECK(beside->mount_point == "/");
  CHECK_FALSE(beside->shared);
  auto slave = sandbox::propagation_in(kMountinfo, "/srv/slave/a");
  REQUIRE(slave);
  CHECK(slave->slave);
  CHECK_FALSE(slave->shared);
  // Escaped white space in a mount point; both tags on one mount.
  auto escaped = sandbox::propagation_in(kMountinfo, "/data dir/x");
  REQUIRE(escaped);
  CHECK(escaped->mount_point == "/data dir");
  CHECK(escaped->shared);
  CHECK(escaped->slave);
  // Two mounts on one point: the later one is on top, and it is the one a path reaches.
  auto stacked = sandbox::propagation_in(kMountinfo, "/srv/top");
  REQUIRE(stacked);
  CHECK(stacked->shared);
  CHECK_FALSE(sandbox::propagation_in("garbage\n", "/srv"));
  CHECK(sandbox::mounts_in(kMountinfo, "/srv/top") == 2);
  CHECK(sandbox::mounts_in(kMountinfo, "/data dir") == 1);
  CHECK(sandbox::mounts_in(kMountinfo, "/srv/sandboxes") == 0);
}

TEST_CASE("data attach: a directory attached on another shows there until detached, then what was under it",
          "[root]") {
  testing::TempDir dir;
  const auto conversation = dir.path / "conversation";
  const auto pooled = dir.path / "pooled";
  fs::create_directories(conversation);
  fs::create_directories(pooled);
  { std::ofstream(conversation / "mine.txt") << "kept"; }
  {
    auto attached = sandbox::AttachedDirectory::attach(conversation, pooled);
    REQUIRE(attached);
    CHECK(read(pooled / "mine.txt") == "kept");
    // Writes through the attached directory land in the conversation's.
    { std::ofstream(pooled / "new.txt") << "written"; }
    CHECK(read(conversation / "new.txt") == "written");
    REQUIRE(attached->detach());
    CHECK(fs::is_empty(pooled));
    CHECK(attached->detach());  // idempotent
    auto again = sandbox::AttachedDirectory::attach(conversation, pooled);
    REQUIRE(again);
    CHECK(testing::mount_count(pooled) == 1);
  }  // the destructor detaches what is still attached
  CHECK(testing::mount_count(pooled) == 0);
  CHECK(fs::is_empty(pooled));
  CHECK(read(conversation / "mine.txt") == "kept");
  auto missing = sandbox::AttachedDirectory::attach(dir.path / "gone", pooled);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("cannot attach") != std::string::npos);
}

TEST_CASE("data attach: a root on a private mount is bound onto itself as a shared one, once", "[root]") {
  testing::TempDir dir;
  // A private mount of its own, as on a host whose / is private.
  const auto parent = dir.path / "private";
  const auto root = parent / "sandboxes";
  fs::create_directories(root);
  REQUIRE(::mount(parent.c_str(), parent.c_str(), nullptr, MS_BIND, nullptr) == 0);
  REQUIRE(::mount(nullptr, parent.c_str(), nullptr, MS_PRIVATE, nullptr) == 0);
  auto before = sandbox::propagation_of(root);
  REQUIRE(before);
  CHECK_FALSE(before->shared);
  auto made = sandbox::share_mounts_under(root);
  REQUIRE(made);
  CHECK(*made);
  auto after = sandbox::propagation_of(root);
  REQUIRE(after);
  CHECK(after->shared);
  CHECK(after->mount_point == fs::canonical(root));
  // Already shared: nothing more is mounted, and a process that finds the bind it left (killed
  // before it could undo it) knows it is its own to undo.
  auto again = sandbox::share_mounts_under(root);
  REQUIRE(again);
  CHECK(*again);
  CHECK(testing::mount_count(root) == 1);
  REQUIRE(sandbox::unshare_mounts_under(root));
  CHECK(testing::mount_count(root) == 0);
  CHECK(fs::is_empty(root));  // the marker goes with the bind
  // A root that is a shared mount of someone else's (a deployment's own bind) is never undone.
  REQUIRE(::mount(root.c_str(), root.c_str(), nullptr, MS_BIND, nullptr) == 0);
  REQUIRE(::mount(nullptr, root.c_str(), nullptr, MS_SHARED, nullptr) == 0);
  auto theirs = sandbox::share_mounts_under(root);
  REQUIRE(theirs);
  CHECK_FALSE(*theirs);
  REQUIRE(::umount2(root.c_str(), MNT_DETACH) == 0);
  REQUIRE(::umount2(parent.c_str(), MNT_DETACH) == 0);
}
