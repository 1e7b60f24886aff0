// Real loop mounts: these need root (CAP_SYS_ADMIN), as the server does when
// SANDBOX_QUOTA_MB is set. They are tagged [root]: CI runs as root; elsewhere ctest reports them
// skipped (support/test_session.hpp).
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/random.hpp"
#include "sandbox/files.hpp"
#include "sandbox/quota_volume.hpp"
#include "support/mounts.hpp"

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kMiB = 1024 * 1024;

struct Volume {
  fs::path dir = fs::temp_directory_path() / ("mcp-sandbox-volume-" + core::random_hex(6));
  fs::path image = dir / "v.ext4";
  fs::path mount_point = dir / "mnt";
  Volume() { fs::create_directories(mount_point); }
  ~Volume() {
    (void)sandbox::unmount_volume(mount_point);
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
};

// Writes `bytes` to `path` in 1 MiB pieces; returns how many were written before an error.
std::int64_t fill(const fs::path& path, std::int64_t bytes, int& error) {
  core::Fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  const std::string chunk(kMiB, 'x');
  std::int64_t written = 0;
  error = 0;
  while (written < bytes) {
    const auto n = ::write(file.get(), chunk.data(), chunk.size());
    if (n <= 0) {
      error = errno;
      break;
    }
    written += n;
  }
  if (error == 0 && ::fsync(file.get()) != 0) error = errno;
  return written;
}

}  // namespace

TEST_CASE("quota volume: bytes and files are capped by the kernel, and unmounting frees the loop device", "[root]") {
  Volume volume;
  REQUIRE(sandbox::create_volume_image(volume.image, {32 * kMiB, 100}, 1000, 1000));
  struct stat image {};
  REQUIRE(::stat(volume.image.c_str(), &image) == 0);
  CHECK(image.st_size == 32 * kMiB);
  CHECK(image.st_blocks * 512 < 2 * kMiB);  // sparse: only metadata costs disk

  REQUIRE(sandbox::mount_volume(volume.image, volume.mount_point));
  CHECK(*sandbox::is_mount_point(volume.mount_point));
  CHECK(testing::mount_count(volume.mount_point) == 1);
  struct stat root {};
  REQUIRE(::stat(volume.mount_point.c_str(), &root) == 0);
  CHECK(root.st_uid == 1000);

  int error = 0;
  const auto written = fill(volume.mount_point / "big", 64 * kMiB, error);
  CHECK(error == ENOSPC);
  CHECK(written < 32 * kMiB);
  CHECK(written > 16 * kMiB);
  auto usage = sandbox::volume_usage(volume.mount_point);
  REQUIRE(usage);
  CHECK(usage->full());
  CHECK(usage->describe().find("MB") != std::string::npos);
  fs::remove(volume.mount_point / "big");
  fs::remove_all(volume.mount_point / "lost+found");

  int made = 0;
  for (; made < 1000; ++made) {
    core::Fd file(::open((volume.mount_point / ("f" + std::to_string(made))).c_str(), O_WRONLY | O_CREAT, 0644));
    if (file.get() < 0) {
      CHECK(errno == ENOSPC);
      break;
    }
  }
  CHECK(made >= 100);
  CHECK(made < 200);
  usage = sandbox::volume_usage(volume.mount_point);
  REQUIRE(usage);
  CHECK(usage->used_files == made);
  CHECK(usage->full());

  const auto device = testing::loop_device_of(volume.image);
  CHECK_FALSE(device.empty());
  REQUIRE(sandbox::unmount_volume(volume.mount_point));
  CHECK_FALSE(*sandbox::is_mount_point(volume.mount_point));
  CHECK(testing::loop_device_of(volume.image).empty());
  // Mounting again finds the files made before.
  REQUIRE(sandbox::mount_volume(volume.image, volume.mount_point));
  CHECK(fs::exists(volume.mount_point / "f0"));
}

TEST_CASE("quota volume: a failed mount leaves no loop device behind", "[root]") {
  Volume volume;
  std::ofstream(volume.image) << "not a filesystem";
  fs::resize_file(volume.image, 16 * kMiB);
  auto mounted = sandbox::mount_volume(volume.image, volume.mount_point);
  REQUIRE_FALSE(mounted);
  CHECK(mounted.error().message.find("cannot mount") != std::string::npos);
  CHECK(testing::loop_device_of(volume.image).empty());
}
