#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "core/fd.hpp"

namespace {

// True when `fd` is an open descriptor of this process.
bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

struct Pipe {
  core::Fd read;
  core::Fd write;
  Pipe() {
    int fds[2];
    REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
    read = core::Fd(fds[0]);
    write = core::Fd(fds[1]);
  }
};

}  // namespace

TEST_CASE("fd: closed when it goes out of scope, moved without closing, released on request") {
  int raw = -1;
  {
    Pipe pipe;
    raw = pipe.read.get();
    core::Fd moved(std::move(pipe.read));
    CHECK(pipe.read.get() == -1);
    CHECK(moved.get() == raw);
    CHECK(is_open(raw));
  }
  CHECK_FALSE(is_open(raw));

  Pipe pipe;
  const int kept = pipe.write.release();
  CHECK(pipe.write.get() == -1);
  CHECK(is_open(kept));
  ::close(kept);

  const int replaced = pipe.read.get();
  pipe.read = core::Fd();  // assigning closes what it held
  CHECK_FALSE(is_open(replaced));
}

TEST_CASE("poll_until: the events that came, 0 at the deadline, the hang-up of a closed peer") {
  using namespace std::chrono;
  Pipe pipe;
  const auto soon = [] { return steady_clock::now() + milliseconds(20); };
  // Nothing to read: the deadline ends the wait, and not before it.
  const auto asked = steady_clock::now();
  CHECK(core::poll_until(pipe.read.get(), POLLIN, asked + milliseconds(30)) == short{0});
  CHECK(steady_clock::now() - asked >= milliseconds(30));
  // A past deadline still looks once.
  CHECK(core::poll_until(pipe.write.get(), POLLOUT, steady_clock::now() - seconds(1)) == short{POLLOUT});

  REQUIRE(::write(pipe.write.get(), "x", 1) == 1);
  CHECK(core::poll_until(pipe.read.get(), POLLIN, soon()) == short{POLLIN});

  pipe.write = core::Fd();
  const auto hung_up = core::poll_until(pipe.read.get(), POLLIN, soon());
  REQUIRE(hung_up);
  CHECK((*hung_up & POLLHUP) != 0);

  const int closed = pipe.read.get();
  pipe.read = core::Fd();
  const auto invalid = core::poll_until(closed, POLLIN, soon());
  REQUIRE(invalid);
  CHECK((*invalid & POLLNVAL) != 0);
}
