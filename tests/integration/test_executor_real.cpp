// The executor against the real engine and the real runner images: each
// promise of the foundation (limits, hardening, outcome classification) is
// checked by a program that tries to break it.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <fstream>

#include "integration/integration_env.hpp"

using integration::run;

TEST_CASE("real: hello in every required language") {
  struct Case {
    const char* language;
    const char* code;
  };
  const Case cases[] = {
      {"python", "import sys\nprint('hello from', sys.version_info.major)\n"},
      {"typescript", "interface Greeting { who: string }\nconst g: Greeting = { who: 'ts' };\nconsole.log(`hello from ${g.who}`);\n"},
      {"javascript", "const os = require('os');\nconsole.log('hello from js', typeof os.cpus);\n"},
      {"bash", "echo \"hello from bash $BASH_VERSINFO\"\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.language);
    const auto outcome = run(c.language, c.code);
    CHECK(outcome.exit_code == 0);
    CHECK(outcome.stdout_data.rfind("hello from", 0) == 0);
    CHECK(outcome.stderr_data.empty());
    CHECK_FALSE(outcome.timed_out);
    CHECK(outcome.language == c.language);
  }
}

TEST_CASE("real: exit code, stderr and stdin are reported exactly") {
  runner::RunRequest request;
  request.language = "py";
  request.code = "import sys\ndata = sys.stdin.read()\nprint(data.upper())\nprint('bad', file=sys.stderr)\nsys.exit(3)\n";
  request.stdin_data = "line one\nline two";
  auto outcome = integration::run_ephemeral(request);
  REQUIRE(outcome);
  CHECK(outcome->exit_code == 3);
  CHECK(outcome->stdout_data == "LINE ONE\nLINE TWO\n");
  CHECK(outcome->stderr_data == "bad\n");
  CHECK_FALSE(outcome->succeeded());
}

TEST_CASE("real: a busy loop is killed at the deadline and reported timedOut") {
  const auto outcome = run("python", "print('started', flush=True)\nwhile True:\n    pass\n", 2);
  CHECK(outcome.timed_out);
  CHECK_FALSE(outcome.oom_killed);
  CHECK(outcome.stdout_data == "started\n");
  CHECK(outcome.duration >= std::chrono::milliseconds(2000));
  CHECK(outcome.duration < std::chrono::milliseconds(5000));
}

TEST_CASE("real: a program flooding stdout and stderr past its deadline is killed promptly") {
  // Nobody reads the flood once the deadline passes unless the kill drains it: the engine then
  // finishes the kill only when its own call times out (30 s), and the run fails instead.
  config::RunLimits limits;
  limits.output_bytes = 4096;
  const auto outcome = run("bash", "yes err >&2 &\nyes out", 2, limits);
  CHECK(outcome.timed_out);
  CHECK(outcome.truncated);
  CHECK(outcome.stdout_data.size() == 4096);
  CHECK(outcome.stderr_data.size() == 4096);
  CHECK(outcome.duration < std::chrono::milliseconds(8000));
}

TEST_CASE("real: a caller cannot raise the timeout above the operator's cap") {
  config::RunLimits limits;
  limits.timeout_seconds = 2;
  const auto outcome = run("bash", "sleep 20", 600, limits);
  CHECK(outcome.timed_out);
  CHECK(outcome.duration < std::chrono::milliseconds(5000));
}

TEST_CASE("real: a 600 MB allocation is reported oomKilled") {
  const auto outcome = run("python", "s = 'x' * (600 * 1024 * 1024)\nprint(len(s))\n");
  CHECK(outcome.oom_killed);
  CHECK(outcome.exit_code == 137);
  CHECK_FALSE(outcome.timed_out);
  CHECK(outcome.stdout_data.empty());
}

TEST_CASE("real: a fork bomb is contained by the pids limit") {
  // Count how many processes can exist at once: the limit (128) caps it.
  const auto counted = run("python", R"(import os, time
pids = []
try:
    while len(pids) < 1000:
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        pids.append(pid)
except OSError as e:
    print(len(pids), e.errno)
)", 20);
  CHECK_FALSE(counted.timed_out);
  REQUIRE_FALSE(counted.stdout_data.empty());
  const int forked = std::stoi(counted.stdout_data);
  CHECK(forked > 10);
  CHECK(forked < 128);

  // The classic bomb ends at the deadline and leaves the machine usable.
  const auto bomb = run("bash", ":(){ :|:& };:\nsleep 60\n", 3);
  CHECK(bomb.timed_out);
  CHECK(bomb.duration < std::chrono::milliseconds(10000));
  CHECK(run("bash", "echo still fine").stdout_data == "still fine\n");
}

TEST_CASE("real: only loopback exists inside a run") {
  const auto outcome = run("bash", "ls /sys/class/net");
  CHECK(outcome.stdout_data == "lo\n");
}

TEST_CASE("real: a CPU-bound loop gets about half a core") {
  const auto outcome = run("python", R"(import time
t0, c0 = time.monotonic(), time.process_time()
while time.monotonic() - t0 < 3:
    pass
print(round((time.process_time() - c0) / (time.monotonic() - t0), 3))
)");
  REQUIRE(outcome.exit_code == 0);
  const double share = std::stod(outcome.stdout_data);
  CAPTURE(share);
  CHECK(share > 0.3);
  CHECK(share < 0.6);
}

TEST_CASE("real: the root filesystem is read-only, /tmp is a small tmpfs, the user is not root") {
  const auto outcome = run("bash", R"(
id -u; id -g
touch /etc/x 2>/dev/null && echo rootfs-writable || echo rootfs-read-only
touch /tmp/x && echo tmp-writable
head -c 80M /dev/zero > /tmp/big 2>/dev/null && echo tmp-unbounded || echo tmp-full
test -w /data && echo data-writable
)");
  CHECK(outcome.stdout_data == "1000\n1000\nrootfs-read-only\ntmp-writable\ntmp-full\ndata-writable\n");
}

TEST_CASE("real: an output flood is truncated at the cap with bounded memory here") {
  rusage before{};
  getrusage(RUSAGE_SELF, &before);
  const auto outcome = run("bash", "head -c 50000000 /dev/zero | tr '\\0' x; echo done >&2");
  rusage after{};
  getrusage(RUSAGE_SELF, &after);
  CHECK(outcome.truncated);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.stdout_data.size() == 1024 * 1024);
  CHECK(outcome.stderr_data == "done\n");
  // 50 MB went through; our peak memory must not have grown by anything like it.
  CHECK(after.ru_maxrss - before.ru_maxrss < 20 * 1024);
}

TEST_CASE("real: files in /data persist across runs of a conversation and stay out of others") {
  auto spaces = integration::workspaces();
  auto mine = spaces.open("conversation-a");
  auto theirs = spaces.open("conversation-b");
  REQUIRE(mine);
  REQUIRE(theirs);
  auto executor = integration::make_executor();
  runner::RunRequest request;
  request.language = "python";
  request.workspace = *mine;
  request.code = "open('/data/note.txt', 'w').write('kept')\n";
  REQUIRE(executor.run(request)->exit_code == 0);
  request.code = "print(open('/data/note.txt').read())\n";
  CHECK(executor.run(request)->stdout_data == "kept\n");
  request.workspace = *theirs;
  request.code = "import os\nprint(os.listdir('/data'))\n";
  CHECK(executor.run(request)->stdout_data == "[]\n");
  std::ifstream on_host(mine->server_path / "note.txt");
  std::string content;
  std::getline(on_host, content);
  CHECK(content == "kept");
}

TEST_CASE("real: the environment reaches the program") {
  runner::RunRequest request;
  request.language = "javascript";
  request.code = "console.log(process.env.GREETING)";
  request.environment = {{"GREETING", "hi there"}};
  auto outcome = integration::run_ephemeral(request);
  REQUIRE(outcome);
  CHECK(outcome->stdout_data == "hi there\n");
}

TEST_CASE("real: stdin the program reads late still arrives whole") {
  // The executor pumps in one-second slices; stdin must survive the slice boundaries.
  runner::RunRequest request;
  request.language = "python";
  request.code = "import sys, time\ntime.sleep(2.5)\nprint(len(sys.stdin.buffer.read()))\n";
  request.stdin_data = std::string(900 * 1024, 'x');
  int progress_calls = 0;
  request.on_progress = [&](std::chrono::milliseconds) { ++progress_calls; };
  auto outcome = integration::run_ephemeral(request);
  REQUIRE(outcome);
  CHECK(outcome->stdout_data == std::to_string(900 * 1024) + "\n");
  CHECK(progress_calls >= 2);
}

TEST_CASE("real: a cancelled run is killed at once and removed") {
  std::stop_source stop;
  runner::RunRequest request;
  request.language = "bash";
  request.code = "sleep 25";
  request.cancel = stop.get_token();
  request.on_progress = [&](std::chrono::milliseconds) { stop.request_stop(); };
  const auto started = std::chrono::steady_clock::now();
  auto outcome = integration::run_ephemeral(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().message.find("cancelled") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
}
