#include "sandbox/root_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace sandbox {

namespace {

using core::ErrorKind;

std::string errno_text() { return std::strerror(errno); }

// The pid the holder wrote, for the message; empty when unreadable.
std::string holder_pid(int fd) {
  std::array<char, 32> buffer{};
  const auto got = ::pread(fd, buffer.data(), buffer.size() - 1, 0);
  if (got <= 0) return {};
  std::string text(buffer.data(), static_cast<std::size_t>(got));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

core::Result<RootLock> RootLock::acquire(const std::string& root) {
  const std::string path = root + "/" + kRootLockFile;
  core::Fd lock(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  const int fd = lock.get();
  if (fd < 0) return core::fail(ErrorKind::unavailable, "cannot open " + path + ": " + errno_text());
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string pid = holder_pid(fd);
    if (error == EWOULDBLOCK) {
      return core::fail(ErrorKind::invalid_argument,
                        "another mcp-sandbox server" + (pid.empty() ? std::string() : " (pid " + pid + ")") +
                            " is serving SANDBOX_ROOT " + root +
                            "; two servers on one root would remove each other's containers and volumes: give "
                            "each server its own SANDBOX_ROOT");
    }
    return core::fail(ErrorKind::unavailable, "cannot lock " + path + ": " + std::strerror(error));
  }
  // Ours now: record who holds it (a pid of another pid namespace, in a container, is still a hint).
  const std::string line = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) != static_cast<ssize_t>(line.size())) {
    return core::fail(ErrorKind::unavailable, "cannot write " + path + ": " + errno_text());
  }
  return RootLock(std::move(lock));
}

}  // namespace sandbox
