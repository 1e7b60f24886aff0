#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>

#include <filesystem>
#include <fstream>

#include "core/random.hpp"
#include "sandbox/files.hpp"
#include "sandbox/paths.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

// A sandbox directory, and one outside it holding a host secret that links must never reach.
struct TempDir {
  testing::TempDir inside{"mcp-sandbox-files-"};
  testing::TempDir beyond{"mcp-sandbox-outside-"};
  const fs::path& path = inside.path;
  const fs::path& outside = beyond.path;
  TempDir() { std::ofstream(outside / "secret.txt") << "host secret"; }
};

}  // namespace

TEST_CASE("paths: names that escape or confuse are refused") {
  for (const std::string& bad : std::vector<std::string>{"", "/etc/passwd", "..", "../x", "a/../b", "a/./b", ".", "a//b", std::string("a\0b", 3),
                                "a\nb", std::string(1025, 'a'), std::string(256, 'a') + "/x"}) {
    CAPTURE(bad);
    CHECK_FALSE(sandbox::check_relative_path(bad).empty());
  }
  for (const std::string& good : std::vector<std::string>{"a", "a/b/c.txt", "dir/", ".hidden", "with space.csv", "ünïcode.txt", "a..b"}) {
    CAPTURE(good);
    CHECK(sandbox::check_relative_path(good).empty());
  }
  CHECK(sandbox::check_relative_path("", true).empty());
  CHECK(sandbox::check_relative_path(".", true).empty());
  CHECK(sandbox::split_path("a/b/") == std::vector<std::string>{"a", "b"});
}

TEST_CASE("paths: mime types by extension") {
  CHECK(sandbox::mime_type_for("plot.PNG") == "image/png");
  CHECK(sandbox::mime_type_for("dir.v2/data.csv") == "text/csv");
  CHECK(sandbox::mime_type_for("noext") == "application/octet-stream");
  CHECK(sandbox::mime_type_for(".bashrc") == "application/octet-stream");
  CHECK(sandbox::is_inline_image("image/webp"));
  CHECK_FALSE(sandbox::is_inline_image("image/svg+xml"));
}

TEST_CASE("files: write, read, list and delete inside the sandbox") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  REQUIRE(files.write("data/in.csv", "a,b\n1,2\n"));
  REQUIRE(files.write("top.txt", "top"));
  CHECK(*files.read("data/in.csv", 100) == "a,b\n1,2\n");
  REQUIRE(files.write("top.txt", "new"));
  CHECK(*files.read("top.txt", 100) == "new");

  auto listing = files.list("", true);
  REQUIRE(listing);
  REQUIRE(listing->entries.size() == 3);
  CHECK(listing->entries[0].path == "data");
  CHECK(listing->entries[0].type == sandbox::FileInfo::Type::directory);
  CHECK(listing->entries[1].path == "data/in.csv");
  CHECK(listing->entries[1].size == 8);
  CHECK(listing->entries[2].path == "top.txt");
  CHECK_FALSE(listing->truncated);
  CHECK(files.list("data", false)->entries.size() == 1);

  REQUIRE(files.remove("data"));
  CHECK_FALSE(fs::exists(dir.path / "data"));
  auto missing = files.read("data/in.csv", 100);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == core::ErrorKind::not_found);
}

TEST_CASE("files: symbolic links planted by a run are never followed") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  fs::create_directory_symlink(dir.outside, dir.path / "escape");
  fs::create_symlink(dir.outside / "secret.txt", dir.path / "link.txt");

  CHECK_FALSE(files.read("link.txt", 100));
  CHECK_FALSE(files.read("escape/secret.txt", 100));
  CHECK_FALSE(files.write("escape/new.txt", "x"));
  CHECK_FALSE(fs::exists(dir.outside / "new.txt"));
  CHECK_FALSE(files.write("link.txt", "overwrite"));
  std::ifstream secret(dir.outside / "secret.txt");
  std::string content;
  std::getline(secret, content);
  CHECK(content == "host secret");
  CHECK_FALSE(files.list("escape", true));

  // Deleting the link removes the link, not what it points at.
  REQUIRE(files.remove("escape"));
  CHECK(fs::exists(dir.outside / "secret.txt"));
  auto listing = files.list("", true);
  REQUIRE(listing);
  REQUIRE(listing->entries.size() == 1);
  CHECK(listing->entries[0].type == sandbox::FileInfo::Type::symlink);
}

TEST_CASE("files: FIFOs and other special files never block or get read") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  REQUIRE(::mkfifo((dir.path / "pipe").c_str(), 0644) == 0);
  auto read = files.read("pipe", 100);
  REQUIRE_FALSE(read);
  CHECK(read.error().message.find("not a regular file") != std::string::npos);
  CHECK_FALSE(files.write("pipe", "x"));
  std::int64_t size = 0;
  CHECK_FALSE(files.open_regular("pipe", size));
}

TEST_CASE("files: reads are size-capped and scans are bounded") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  REQUIRE(files.write("big.bin", std::string(1000, 'x')));
  auto capped = files.read("big.bin", 999);
  REQUIRE_FALSE(capped);
  CHECK(capped.error().message.find("download URL") != std::string::npos);

  for (int i = 0; i < 30; ++i) REQUIRE(files.write("many/f" + std::to_string(i), "x"));
  auto listing = files.list("", true, sandbox::ScanLimits{10, 16});
  REQUIRE(listing);
  CHECK(listing->entries.size() == 10);
  CHECK(listing->truncated);

  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "d/";
  REQUIRE(files.write(deep + "leaf.txt", "x"));
  auto shallow = files.list("", true, sandbox::ScanLimits{10000, 5});
  REQUIRE(shallow);
  CHECK(shallow->truncated);
}

TEST_CASE("files: written files belong to the runner user", "[root]") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  REQUIRE(files.write("sub/f.txt", "x"));
  struct stat info {};
  REQUIRE(::stat((dir.path / "sub/f.txt").c_str(), &info) == 0);
  CHECK(info.st_uid == 1000);
  REQUIRE(::stat((dir.path / "sub").c_str(), &info) == 0);
  CHECK(info.st_uid == 1000);
}

TEST_CASE("files: a sparse 100 GiB file and a socket never block or break listing and reading") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  {
    core::Fd sparse(::open((dir.path / "huge.bin").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    REQUIRE(::ftruncate(sparse.get(), std::int64_t{100} << 30) == 0);
  }
  const int sock = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof(address.sun_path), "%s", (dir.path / "sock").c_str());
  REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
  ::close(sock);

  auto listing = files.list("", true);
  REQUIRE(listing);
  REQUIRE(listing->entries.size() == 2U);
  CHECK(listing->entries[0].path == "huge.bin");
  CHECK(listing->entries[0].size == std::int64_t{100} << 30);
  CHECK(listing->entries[1].type == sandbox::FileInfo::Type::other);

  auto huge = files.read("huge.bin", 1 << 20);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.find("download URL") != std::string::npos);
  std::int64_t size = 0;
  auto streamed = files.open_regular("huge.bin", size);
  REQUIRE(streamed);
  CHECK(size == std::int64_t{100} << 30);
  char byte = 'x';
  CHECK(::pread(streamed->get(), &byte, 1, std::int64_t{50} << 30) == 1);
  CHECK(byte == '\0');

  auto read = files.read("sock", 100);
  REQUIRE_FALSE(read);
  CHECK(read.error().message.find("not a regular file") != std::string::npos);
  CHECK_FALSE(files.write("sock", "x"));
  CHECK(files.remove("huge.bin"));
}

// Only root can make a device node. /dev/zero's numbers: a read that followed it would never end.
TEST_CASE("files: a device node is listed as other and never read or written", "[root]") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  REQUIRE(::mknod((dir.path / "zero").c_str(), S_IFCHR | 0666, makedev(1, 5)) == 0);

  auto listing = files.list("", true);
  REQUIRE(listing);
  REQUIRE(listing->entries.size() == 1U);
  CHECK(listing->entries[0].path == "zero");
  CHECK(listing->entries[0].type == sandbox::FileInfo::Type::other);

  auto read = files.read("zero", 100);
  REQUIRE_FALSE(read);
  CHECK(read.error().message.find("not a regular file") != std::string::npos);
  CHECK_FALSE(files.write("zero", "x"));
  std::int64_t size = 0;
  CHECK_FALSE(files.open_regular("zero", size));
}

TEST_CASE("files: deleting a tree deeper than any descriptor budget works and never follows links") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  fs::path deep = dir.path / "top";
  for (int i = 0; i < 300; ++i) {
    REQUIRE(::mkdir(deep.c_str(), 0755) == 0);
    fs::create_directory_symlink(dir.outside, deep / "escape");
    deep /= "d";
  }
  REQUIRE(files.remove("top"));
  CHECK_FALSE(fs::exists(dir.path / "top"));
  CHECK(fs::exists(dir.outside / "secret.txt"));
  auto missing = files.remove("top");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == core::ErrorKind::not_found);
}

TEST_CASE("files: deleting a tree never walks into something mounted inside it", "[root]") {
  TempDir dir;
  sandbox::SandboxFiles files(dir.path);
  // A bind mount of a directory of the same file system: no change of device gives it away.
  const fs::path mount_point = dir.path / "top" / "a" / "b";
  fs::create_directories(mount_point);
  { std::ofstream(dir.path / "top" / "a" / "before.txt") << "x"; }
  REQUIRE(::mount(dir.outside.c_str(), mount_point.c_str(), nullptr, MS_BIND, nullptr) == 0);
  const auto removed = files.remove("top");
  const bool mounted_content_kept = fs::exists(mount_point / "secret.txt");
  REQUIRE(::umount2(mount_point.c_str(), MNT_DETACH) == 0);
  REQUIRE_FALSE(removed);
  CHECK(removed.error().kind == core::ErrorKind::conflict);
  CHECK(removed.error().message.find("a file system is mounted inside it") != std::string::npos);
  CHECK(mounted_content_kept);
  CHECK(fs::exists(dir.outside / "secret.txt"));
  // Unmounted, the tree goes as any other.
  REQUIRE(files.remove("top"));
  CHECK_FALSE(fs::exists(dir.path / "top"));
}
