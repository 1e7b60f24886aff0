#pragma once

#include <memory>
#include <optional>

namespace testing {

/// The exit code ctest reports as "skipped" (SKIP_RETURN_CODE 77 on every test entry).
inline constexpr int kSkipped = 77;

/// The tag of test cases that only root can run (loop mounts, chown, device nodes).
inline constexpr const char* kRootTag = "root";

/// The Catch2 session of a test binary, with preconditions Catch2 v2 cannot express (it has no SKIP):
/// a case tagged [root] runs only when this process is root. Otherwise it is left out, named on
/// stderr, and the binary exits 77, so ctest counts it as skipped and never as passed. Only one
/// TestSession may exist (Catch::Session is a singleton).
class TestSession {
 public:
  /// Reads the command line the way Catch2's own main does.
  TestSession(int argc, char** argv);
  ~TestSession();
  TestSession(const TestSession&) = delete;
  TestSession& operator=(const TestSession&) = delete;

  /// The exit code when there is nothing to run: a refused command line, a selection that matches
  /// no test case (1: a ctest entry whose name matches nothing must not pass), or every selected
  /// case left out (77). std::nullopt when run() has work to do.
  [[nodiscard]] std::optional<int> finished_early() const;

  /// Runs the selected cases that can run here. 0: all ran and passed; 1: any failed;
  /// 77: none failed, but some were left out. Listings and --help return Catch2's own code.
  int run();

 private:
  // Catch::Session is declared only where Catch2's implementation is compiled (test_session.cpp).
  struct State;
  std::unique_ptr<State> m_state;
};

/// main() of a test binary with no set-up of its own: TestSession, then run().
int run_tests(int argc, char** argv);

}  // namespace testing
