#include <catch2/catch.hpp>

#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "runner/container_spec.hpp"
#include "support/temp_dir.hpp"

namespace {

runner::Manifest python_manifest() {
  return runner::Manifest{"python", {"py"}, "mcp-sandbox/runner-python:latest", "main.py",
                          {"python3", "/tmp/main.py"}, {"python3", "--version"}, {}, {}, {}, {}};
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

struct BootstrapRun {
  int status = -1;
  std::string out;
  std::string err;
  std::string written;  ///< what the bootstrap wrote to the code file
};

// Runs a bootstrap with this machine's /bin/sh, as a container's sh runs it: `argv` after the code
// file's path, `input` on stdin.
BootstrapRun run_bootstrap(const char* bootstrap, const std::vector<std::string>& argv, const std::string& input) {
  const testing::TempDir dir;
  const auto code = dir.path / "main.code";
  std::ofstream(dir.path / "in", std::ios::binary) << input;
  std::vector<std::string> words{"/bin/sh", "-c", bootstrap, code.string()};
  words.insert(words.end(), argv.begin(), argv.end());
  const std::string line = runner::shell_words(words) + " < " + (dir.path / "in").string() + " > " +
                           (dir.path / "out").string() + " 2> " + (dir.path / "err").string();
  const int raw = std::system(line.c_str());  // NOLINT(concurrency-mt-unsafe): one test at a time
  BootstrapRun run;
  run.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  run.out = read_file(dir.path / "out");
  run.err = read_file(dir.path / "err");
  run.written = read_file(code);
  return run;
}

runner::RunRequest request() {
  runner::RunRequest r;
  r.language = "python";
  r.environment = {{"FOO", "bar"}};
  r.workspace = sandbox::Workspace{"0123abcd", "/srv/sandboxes/0123abcd", "/host/sandboxes/0123abcd", false, nullptr, {}};
  return r;
}

}  // namespace

TEST_CASE("container spec: limits and hardening on every run") {
  const config::RunLimits limits;
  const auto spec = runner::build_container_spec(python_manifest(), request(), limits, "", false,
                                                 runner::RunIdentity{"run1", "inst1", 1700000000000});
  CHECK(spec.image == "mcp-sandbox/runner-python:latest");
  CHECK(spec.nano_cpus == 500000000);
  CHECK(spec.memory_bytes == 256LL * 1024 * 1024);
  CHECK(spec.memory_swap_bytes == spec.memory_bytes);
  CHECK(spec.pids_limit == 128);
  CHECK(spec.network_disabled);
  CHECK(spec.network_mode == "none");
  CHECK(spec.cap_drop == std::vector<std::string>{"ALL"});
  CHECK(spec.security_opt == std::vector<std::string>{"no-new-privileges"});
  CHECK(spec.readonly_rootfs);
  CHECK(spec.tmpfs.at("/tmp").find("size=64m") != std::string::npos);
  CHECK(spec.tmpfs.at("/tmp").find("noexec") != std::string::npos);
  CHECK(spec.user == "1000:1000");
  CHECK(spec.working_dir == "/data");
  CHECK(spec.binds == std::vector<std::string>{"/host/sandboxes/0123abcd:/data:rw"});
  CHECK(spec.log_driver == "none");
  CHECK(spec.open_stdin);
  CHECK(spec.env == std::vector<std::string>{"FOO=bar"});
  const auto has_ulimit = [&](const std::string& name) {
    return std::any_of(spec.ulimits.begin(), spec.ulimits.end(), [&](const docker::Ulimit& u) { return u.name == name; });
  };
  CHECK(has_ulimit("nofile"));
  CHECK(has_ulimit("fsize"));
}

TEST_CASE("container spec: labels let a reaper find the run") {
  const auto spec = runner::build_container_spec(python_manifest(), request(), config::RunLimits{}, "runsc", false,
                                                 runner::RunIdentity{"run1", "inst1", 1700000000000});
  CHECK(spec.labels.at("io.mcp-sandbox.kind") == "run");
  CHECK(spec.labels.at("io.mcp-sandbox.run-id") == "run1");
  CHECK(spec.labels.at("io.mcp-sandbox.instance") == "inst1");
  CHECK(spec.labels.at("io.mcp-sandbox.conversation") == "0123abcd");
  CHECK(spec.labels.at("io.mcp-sandbox.started-at") == "1700000000000");
  CHECK(spec.runtime == "runsc");
}

TEST_CASE("container spec: the bootstrap reads the framed code into /tmp and execs the runner's command") {
  const auto spec = runner::build_container_spec(python_manifest(), request(), config::RunLimits{}, "", false,
                                                 runner::RunIdentity{"r", "i", 0});
  REQUIRE(spec.cmd.size() == 6);
  CHECK(spec.cmd[0] == "/bin/sh");
  CHECK(spec.cmd[1] == "-c");
  CHECK(spec.cmd[2] == runner::kBootstrap);
  CHECK(spec.cmd[3] == "/tmp/main.py");
  CHECK(spec.cmd[4] == "python3");
  CHECK(spec.cmd[5] == "/tmp/main.py");
  CHECK(runner::frame_input("tok", "", "abc", "in") == "tok\n3\nabcin");
  CHECK(runner::frame_input("tok", "", "", "") == "tok\n0\n");
  CHECK(runner::frame_input("tok", "http://h/files/d/", "x", "") == "tok http://h/files/d/\n1\nx");
  // A URL `read` would cut at its white space is left out.
  CHECK(runner::frame_input("tok", "http://h/a b/", "x", "") == "tok\n1\nx");
}

TEST_CASE("bootstrap: writes the code, runs the command with the rest of stdin, ends both streams with token and status") {
  const auto run = run_bootstrap(runner::kBootstrap, {"/bin/sh", "-c", "cat; echo oops >&2; exit 3"},
                                 runner::frame_input("T0k3n", "", "print(1)", "stdin data\n"));
  CHECK(run.status == 3);
  CHECK(run.written == "print(1)");
  CHECK(run.out == "stdin data\nT0k3n 3\n");
  CHECK(run.err == "oops\nT0k3n 3\n");
}

TEST_CASE("bootstrap: FILE_BASE_URL comes with the code, over the container's own, and the working directory is looked up again") {
  const auto program = std::vector<std::string>{"/bin/sh", "-c", "printf '%s|' \"$FILE_BASE_URL\"; pwd"};
  const auto sent = run_bootstrap(runner::kBootstrap, program, runner::frame_input("tok", "http://h/files/conv/", "x", ""));
  CHECK(sent.status == 0);
  CHECK(sent.out.rfind("http://h/files/conv/|/", 0) == 0);
  // None sent: the environment's own value (here: none) stays.
  const auto none = run_bootstrap(runner::kBootstrap, program, runner::frame_input("tok", "", "x", ""));
  CHECK(none.out.rfind("|/", 0) == 0);
  const auto compiled = run_bootstrap(runner::kCompileBootstrap, {"true", "/bin/sh", "-c", "printf '%s' \"$FILE_BASE_URL\""},
                                      runner::frame_input("tok", "http://h/files/c/", "x", ""));
  CHECK(compiled.out == "http://h/files/c/tok 0\n");
}

TEST_CASE("bootstrap: the end lines follow all the program wrote and carry a signal's status, which the shell reports") {
  const auto run = run_bootstrap(runner::kBootstrap, {"/bin/sh", "-c", "printf 'no newline'; kill -9 $$"},
                                 runner::frame_input("tok", "", "", ""));
  CHECK(run.status == 137);
  CHECK(run.out == "no newlinetok 137\n");
  CHECK(run.err == "Killed\ntok 137\n");
}

TEST_CASE("bootstrap: the compile bootstrap ends with a failing compiler's status, or with the program's") {
  const std::string failing_compiler = runner::shell_words({"/bin/sh", "-c", "echo bad >&2; exit 2"});
  const auto failed = run_bootstrap(runner::kCompileBootstrap, {failing_compiler, "/bin/echo", "never"},
                                    runner::frame_input("tok", "", "int main", ""));
  CHECK(failed.status == 2);
  CHECK(failed.written == "int main");
  CHECK(failed.out == "tok 2\n");
  CHECK(failed.err == "bad\ntok 2\n");
  const auto ran =
      run_bootstrap(runner::kCompileBootstrap, {"true", "/bin/echo", "ran"}, runner::frame_input("tok", "", "x", ""));
  CHECK(ran.status == 0);
  CHECK(ran.out == "ran\ntok 0\n");
  CHECK(ran.err == "tok 0\n");
}

TEST_CASE("container spec: a runner that compiles gets the compile bootstrap and an exec /build") {
  auto manifest = python_manifest();
  manifest.language = "c";
  manifest.file = "main.c";
  manifest.compile = {"gcc", "-o", "/build/main", "/tmp/main.c", "-DGREETING='hi'"};
  manifest.command = {"/build/main"};
  config::RunLimits limits;
  limits.build_mb = 96;
  const auto spec =
      runner::build_container_spec(manifest, request(), limits, "", false, runner::RunIdentity{"r", "i", 1});
  CHECK(spec.cmd == std::vector<std::string>{"/bin/sh", "-c", runner::kCompileBootstrap, "/tmp/main.c",
                                             R"('gcc' '-o' '/build/main' '/tmp/main.c' '-DGREETING='\''hi'\''')",
                                             "/build/main"});
  const auto& build = spec.tmpfs.at("/build");
  CHECK(build.find("size=96m") != std::string::npos);
  CHECK(build.find("nosuid") != std::string::npos);
  CHECK(build.find("nodev") != std::string::npos);
  CHECK(build.find("noexec") == std::string::npos);
  CHECK(build.find(",exec") != std::string::npos);
  CHECK(spec.tmpfs.at("/tmp").find("noexec") != std::string::npos);  // /tmp stays as it is
}

TEST_CASE("container spec: interpreters get no /build") {
  const auto spec = runner::build_container_spec(python_manifest(), request(), config::RunLimits{}, "", false,
                                                 runner::RunIdentity{"r", "i", 1});
  CHECK(spec.tmpfs.count("/build") == 0);
  CHECK(spec.cmd.at(2) == runner::kBootstrap);
}

TEST_CASE("container spec: shell_words quotes every word for eval") {
  CHECK(runner::shell_words({}) == "");
  CHECK(runner::shell_words({"a b", "$HOME", "it's"}) == R"('a b' '$HOME' 'it'\''s')");
}

TEST_CASE("container spec: the package installer replaces the command; the runner's package environment is every run's") {
  auto manifest = python_manifest();
  manifest.packages.installer = "pip";
  manifest.packages.install = {"pip", "install", "--target", "/data/.packages/python"};
  manifest.packages.environment = {{"PYTHONPATH", "/data:/data/.packages/python"}, {"EXTRA", "1"}};
  auto r = request();
  r.environment = {{"EXTRA", "mine"}};
  const runner::RunIdentity identity{"0123456789abcdef", "test", 1};
  auto spec = runner::build_container_spec(manifest, r, config::RunLimits{}, "", false, identity);
  CHECK(spec.cmd.back() == "/tmp/main.py");
  CHECK(std::count(spec.env.begin(), spec.env.end(), "PYTHONPATH=/data:/data/.packages/python") == 1);
  // The caller's own variable wins over the runner's.
  CHECK(std::count(spec.env.begin(), spec.env.end(), "EXTRA=mine") == 1);
  CHECK(std::count(spec.env.begin(), spec.env.end(), "EXTRA=1") == 0);

  r.command = {"pip", "install", "--target", "/data/.packages/python", "demo==1.0"};
  spec = runner::build_container_spec(manifest, r, config::RunLimits{}, "", false, identity);
  const std::vector<std::string> tail(spec.cmd.end() - 5, spec.cmd.end());
  CHECK(tail == r.command);
  CHECK(std::find(spec.cmd.begin(), spec.cmd.end(), "python3") == spec.cmd.end());
}
