#pragma once

#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/fd.hpp"

namespace sandbox {

/// The file under SANDBOX_ROOT that the serving process holds locked.
inline constexpr const char* kRootLockFile = ".server.lock";

/// Exclusive use of a sandbox root by one serving process, for as long as the object lives.
/// Two servers on one root would reap each other's containers (they share the root's instance id),
/// sweep and unmount each other's conversation volumes and race on the same files. An flock(2) is
/// released by the kernel however the holder ends (SIGKILL included), so a stale lock never blocks
/// a restart, and it holds across mount namespaces (the host and a container bind-mounting the root).
class RootLock {
 public:
  /// Takes the lock on `<root>/.server.lock`, writing our pid into it for the message a second
  /// server gets. Fails (invalid_argument) when another process holds it, naming its pid.
  static core::Result<RootLock> acquire(const std::string& root);

  RootLock(RootLock&&) noexcept = default;
  RootLock& operator=(RootLock&&) = delete;
  RootLock(const RootLock&) = delete;
  RootLock& operator=(const RootLock&) = delete;
  ~RootLock() = default;

 private:
  explicit RootLock(core::Fd fd) : m_fd(std::move(fd)) {}
  core::Fd m_fd;  ///< closing the last descriptor releases the lock
};

}  // namespace sandbox
