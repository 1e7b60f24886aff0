#pragma once

#include <filesystem>
#include <string>

namespace testing {

/// How many mounts /proc/self/mountinfo lists at `mount_point`.
int mount_count(const std::filesystem::path& mount_point);

/// The loop device (/dev/loopN) backed by `image`, or "" when none is.
std::string loop_device_of(const std::filesystem::path& image);

}  // namespace testing
