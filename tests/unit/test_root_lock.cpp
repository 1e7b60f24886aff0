#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "core/random.hpp"
#include "sandbox/root_lock.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

using testing::TempDir;

}  // namespace

TEST_CASE("root lock: one holder at a time, naming the holder's pid; free again once released", "[root_lock]") {
  TempDir root;
  std::optional<sandbox::RootLock> first;
  {
    auto taken = sandbox::RootLock::acquire(root.path.string());
    REQUIRE(taken);
    first.emplace(std::move(*taken));
  }
  // flock(2) locks belong to the open file, so a second open in this process is a second server.
  const auto second = sandbox::RootLock::acquire(root.path.string());
  REQUIRE_FALSE(second);
  CHECK(second.error().kind == core::ErrorKind::invalid_argument);
  CHECK(second.error().message.find("pid " + std::to_string(::getpid())) != std::string::npos);
  CHECK(second.error().message.find("SANDBOX_ROOT " + root.path.string()) != std::string::npos);

  first.reset();
  CHECK(sandbox::RootLock::acquire(root.path.string()));
}

TEST_CASE("root lock: a killed holder's lock is free at once", "[root_lock]") {
  TempDir root;
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    auto held = sandbox::RootLock::acquire(root.path.string());
    const char byte = held ? '1' : '0';
    (void)::write(ready[1], &byte, 1);
    ::pause();  // until SIGKILL: no destructor runs
    ::_exit(0);
  }
  char byte = 0;
  REQUIRE(::read(ready[0], &byte, 1) == 1);
  REQUIRE(byte == '1');
  CHECK_FALSE(sandbox::RootLock::acquire(root.path.string()));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ::close(ready[0]);
  ::close(ready[1]);
  CHECK(sandbox::RootLock::acquire(root.path.string()));
}
