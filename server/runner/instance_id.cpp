#include "runner/instance_id.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/config.hpp"
#include "core/fd.hpp"
#include "core/random.hpp"

namespace runner {
namespace {

using core::ErrorKind;

core::Result<std::string> read_id(const std::string& path) {
  std::ifstream in(path);
  if (!in) return core::fail(ErrorKind::unavailable, "cannot read " + path + ": " + std::strerror(errno));
  std::string id;
  std::getline(in, id);
  if (!config::valid_instance_id(id)) {
    return core::fail(ErrorKind::invalid_argument,
                      path + " does not hold an instance id (1-64 of A-Z a-z 0-9 . _ -); fix or delete it");
  }
  return id;
}

}  // namespace

core::Result<std::string> resolve_instance_id(const std::string& sandbox_root, const std::string& configured) {
  if (!configured.empty()) {
    if (!config::valid_instance_id(configured)) {
      return core::fail(ErrorKind::invalid_argument, "INSTANCE_ID '" + configured + "' is not 1-64 of A-Z a-z 0-9 . _ -");
    }
    return configured;
  }
  const std::string path = sandbox_root + "/" + kInstanceIdFile;
  // O_EXCL: of two servers started at once on one root, one writes and both read the same id.
  core::Fd file(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (file.get() < 0) {
    if (errno == EEXIST) return read_id(path);
    return core::fail(ErrorKind::unavailable, "cannot create " + path + ": " + std::strerror(errno));
  }
  const std::string id = "srv-" + core::random_hex(8);
  const std::string line = id + "\n";
  const bool written =
      ::write(file.get(), line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(file.get()) == 0;
  file = core::Fd();
  if (!written) {
    ::unlink(path.c_str());
    return core::fail(ErrorKind::unavailable, "cannot write " + path + ": " + std::strerror(errno));
  }
  return id;
}

}  // namespace runner
