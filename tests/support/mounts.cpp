#include "support/mounts.hpp"

#include <fstream>
#include <sstream>

namespace testing {

int mount_count(const std::filesystem::path& mount_point) {
  std::ifstream info("/proc/self/mountinfo");
  int count = 0;
  for (std::string line; std::getline(info, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, point;
    fields >> id >> parent >> device >> root >> point;
    if (point == mount_point.string()) ++count;
  }
  return count;
}

std::string loop_device_of(const std::filesystem::path& image) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/block", ec)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("loop", 0) != 0) continue;
    std::ifstream backing(entry.path() / "loop" / "backing_file");
    std::string file;
    if (std::getline(backing, file) && file == image.string()) return "/dev/" + name;
  }
  return {};
}

}  // namespace testing
