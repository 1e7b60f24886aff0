#include <catch2/catch.hpp>

#include "runner/executor.hpp"
#include "support/fake_engine.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>

namespace {

using core::ErrorKind;

struct Fixture {
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  runner::ExecutorOptions options;

  Fixture() {
    engine.add_runner("python", R"(["py"])");
    catalog.reset(*runner::Registry::discover(engine));
    options.instance_id = "test-instance";
    options.drain_after_kill = std::chrono::milliseconds(10);
  }

  static runner::RunRequest request(std::string code = "print(1)") {
    runner::RunRequest r;
    r.language = "python";
    r.code = std::move(code);
    r.workspace = sandbox::Workspace{"abc", "/srv/abc", "/host/sandboxes/abc", false, nullptr, {}};
    return r;
  }

  core::Result<runner::RunOutcome> run(const runner::RunRequest& r) {
    runner::Executor executor(engine, catalog, options);
    return executor.run(r);
  }
};

}  // namespace

TEST_CASE("executor: a successful run reports the program's output and removes its container") {
  Fixture f;
  f.engine.program_stdout = "1\n";
  f.engine.program_stderr = "warning\n";
  auto request = Fixture::request("print(1)");
  request.stdin_data = "input";
  auto outcome = f.run(request);
  REQUIRE(outcome);
  CHECK(outcome->exit_code == 0);
  CHECK(outcome->stdout_data == "1\n");
  CHECK(outcome->stderr_data == "warning\n");
  CHECK_FALSE(outcome->timed_out);
  CHECK_FALSE(outcome->oom_killed);
  CHECK_FALSE(outcome->truncated);
  CHECK(outcome->language == "python");
  CHECK(outcome->succeeded());
  // The end-line token and the code framed for the bootstrap, then the program's stdin.
  const auto token_end = f.engine.received_input.find('\n');
  CHECK(token_end == 32);  // 128 random bits, in hex
  CHECK(f.engine.received_input.substr(token_end) == "\n8\nprint(1)input");
  CHECK(f.engine.live_containers.empty());
  // Attach comes before start so no output is lost.
  const auto& calls = f.engine.calls;
  const auto attach = std::find(calls.begin(), calls.end(), "attach");
  const auto start = std::find(calls.begin(), calls.end(), "start");
  CHECK(attach < start);
}

TEST_CASE("executor: aliases find the runner") {
  Fixture f;
  auto request = Fixture::request();
  request.language = "PY";
  REQUIRE(f.run(request));
}

TEST_CASE("executor: the container is removed whichever step fails") {
  for (const std::string& failing : std::vector<std::string>{"attach", "start", "pump", "wait", "inspect"}) {
    DYNAMIC_SECTION("failing step: " << failing) {
      Fixture f;
      f.engine.failures[failing] = core::Error{ErrorKind::unavailable, "engine went away"};
      auto outcome = f.run(Fixture::request());
      REQUIRE_FALSE(outcome);
      CHECK(outcome.error().kind == ErrorKind::unavailable);
      CHECK(outcome.error().message.find("engine went away") != std::string::npos);
      CHECK(f.engine.created_specs.size() == 1);
      CHECK(f.engine.live_containers.empty());
      CHECK(f.engine.calls.back() == "remove");
    }
  }
}

TEST_CASE("executor: a failed create leaves nothing to remove and names the engine's reason") {
  Fixture f;
  f.engine.failures["create"] = core::Error{ErrorKind::not_found, "No such image: mcp-sandbox/runner-python:latest"};
  auto outcome = f.run(Fixture::request());
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::not_found);
  CHECK(outcome.error().message.find("No such image") != std::string::npos);
  CHECK(std::count(f.engine.calls.begin(), f.engine.calls.end(), "remove") == 0);
}

TEST_CASE("executor: a program past its deadline is killed, reported timedOut and removed") {
  Fixture f;
  f.engine.program_hangs = true;
  auto request = Fixture::request("while True: pass");
  request.timeout_seconds = 1;  // the fake's silence lasts until the deadline, as a real one's would
  auto outcome = f.run(request);
  REQUIRE(outcome);
  CHECK(outcome->timed_out);
  CHECK(outcome->exit_code == 137);
  CHECK_FALSE(outcome->succeeded());
  CHECK(std::count(f.engine.calls.begin(), f.engine.calls.end(), "kill") == 1);
  CHECK(f.engine.live_containers.empty());
}

TEST_CASE("executor: a failing kill at the deadline is an error and the container is still removed") {
  Fixture f;
  f.engine.program_hangs = true;
  f.engine.failures["kill"] = core::Error{ErrorKind::unavailable, "connection reset"};
  auto request = Fixture::request();
  request.timeout_seconds = 1;
  auto outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().message.find("killing") != std::string::npos);
  CHECK(f.engine.calls.back() == "remove");
}

TEST_CASE("executor: the engine's OOM verdict is reported") {
  Fixture f;
  f.engine.exit_code = 137;
  f.engine.oom_killed = true;
  auto outcome = f.run(Fixture::request());
  REQUIRE(outcome);
  CHECK(outcome->oom_killed);
  CHECK_FALSE(outcome->timed_out);
  CHECK_FALSE(outcome->succeeded());
}

TEST_CASE("executor: the bootstrap's end lines end the run without waiting for the engine, and are not output") {
  Fixture f;
  f.engine.writes_end_lines = true;
  f.engine.program_stdout = "1\n";
  f.engine.program_stderr = "note\n";
  f.engine.exit_code = 3;
  f.engine.oom_killed = true;  // a child the kernel killed for memory: the engine's flag is still read
  auto outcome = f.run(Fixture::request());
  REQUIRE(outcome);
  CHECK(outcome->exit_code == 3);
  CHECK(outcome->stdout_data == "1\n");
  CHECK(outcome->stderr_data == "note\n");
  CHECK(outcome->oom_killed);
  CHECK_FALSE(outcome->timed_out);
  const auto& calls = f.engine.calls;
  CHECK(std::count(calls.begin(), calls.end(), "wait") == 0);
  CHECK(std::count(calls.begin(), calls.end(), "inspect") == 1);
  CHECK(calls.back() == "remove");
  CHECK(f.engine.live_containers.empty());
}

TEST_CASE("executor: a program killed by SIGKILL waits for the engine, whose OOM verdict is then certain") {
  Fixture f;
  f.engine.writes_end_lines = true;
  f.engine.exit_code = 137;
  f.engine.oom_killed = true;
  auto outcome = f.run(Fixture::request());
  REQUIRE(outcome);
  CHECK(outcome->exit_code == 137);
  CHECK(outcome->oom_killed);
  CHECK(std::count(f.engine.calls.begin(), f.engine.calls.end(), "wait") == 1);
}

TEST_CASE("executor: output beyond the cap is dropped and reported truncated") {
  Fixture f;
  f.options.limits.output_bytes = 1024;
  f.engine.program_stdout = std::string(5000, 'x');
  auto outcome = f.run(Fixture::request());
  REQUIRE(outcome);
  CHECK(outcome->truncated);
  CHECK(outcome->stdout_data.size() == 1024);
}

TEST_CASE("executor: a removal that fails does not hide the outcome") {
  Fixture f;
  f.engine.failures["remove"] = core::Error{ErrorKind::unavailable, "gone"};
  auto outcome = f.run(Fixture::request());
  REQUIRE(outcome);
  CHECK(outcome->stdout_data == "hello\n");
}

TEST_CASE("executor: bad requests are refused before any container exists") {
  Fixture f;
  auto request = Fixture::request();
  std::string expected;
  SECTION("unknown language") {
    request.language = "cobol";
    expected = "unknown language 'cobol'; available: python";
  }
  SECTION("code too large") {
    request.code = std::string(static_cast<std::size_t>(f.options.limits.code_bytes) + 1, 'x');
    expected = "code is";
  }
  SECTION("network against the policy") {
    request.network = true;
    expected = "network access is disabled";
  }
  SECTION("non-positive timeout") {
    request.timeout_seconds = 0;
    expected = "timeout must be a positive";
  }
  SECTION("bad environment name") {
    request.environment["1BAD"] = "x";
    expected = "environment variable name '1BAD'";
  }
  auto outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::invalid_argument);
  CHECK(outcome.error().message.find(expected) != std::string::npos);
  CHECK(f.engine.created_specs.empty());
}

TEST_CASE("executor: a run with egress joins the egress network with proxy settings and a grant that ends with it") {
  Fixture f;
  testing::TempDir temp;
  f.options.egress.offered = {runner::EgressPolicy::open, runner::EgressPolicy::allowlist};
  f.options.egress.allowlist = {"*.mirror.test"};
  f.options.egress.grants_dir = (temp.path / "grants").string();
  f.engine.add_egress_proxy();
  for (const bool legacy : {true, false}) {
    INFO(legacy);
    f.engine.created_specs.clear();
    auto request = Fixture::request();
    if (legacy) {
      request.network = true;  // the older spelling of egress open
    } else {
      request.egress = runner::EgressPolicy::allowlist;
    }
    REQUIRE(f.run(request));
    REQUIRE(f.engine.created_specs.size() == 1);
    const auto& spec = f.engine.created_specs[0];
    CHECK(spec.network_mode == "mcp-sandbox-egress");
    CHECK_FALSE(spec.network_disabled);
    // The embedded DNS forwards outside names only to the run's own loopback.
    CHECK(spec.dns == std::vector<std::string>{"127.0.0.1"});
    const auto run_id = spec.labels.at("io.mcp-sandbox.run-id");
    const auto proxy = std::find_if(spec.env.begin(), spec.env.end(),
                                    [](const std::string& entry) { return entry.rfind("HTTPS_PROXY=", 0) == 0; });
    REQUIRE(proxy != spec.env.end());
    CHECK(proxy->rfind("HTTPS_PROXY=http://" + run_id + ":", 0) == 0);
    CHECK(proxy->find("@mcp-sandbox-egress:3128") != std::string::npos);
    CHECK(std::find(spec.env.begin(), spec.env.end(), "NO_PROXY=") != spec.env.end());
    // The grant was in force for the run and is gone with it.
    CHECK_FALSE(egress::GrantDirectory(f.options.egress.grants_dir).find(run_id));
    CHECK(std::filesystem::is_empty(f.options.egress.grants_dir));
  }
}

TEST_CASE("executor: egress the operator does not offer, or under gVisor, is refused before any container") {
  Fixture f;
  auto request = Fixture::request();
  request.egress = runner::EgressPolicy::packages;
  auto refused = f.run(request);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message == "egress 'packages' is not offered by this server; it offers: none");
  f.options.egress.offered = {runner::EgressPolicy::packages};
  refused = f.run(request);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("not available for python") != std::string::npos);
  f.options.egress.package_hosts["python"] = {"pypi.mirror.test"};
  f.options.egress.runtime = "runsc";
  refused = f.run(request);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("gVisor") != std::string::npos);
  CHECK(f.engine.created_specs.empty());
}

TEST_CASE("executor: a missing egress network is reported as egress unavailable, and the grant is removed") {
  Fixture f;
  testing::TempDir temp;
  f.options.egress.offered = {runner::EgressPolicy::open};
  f.options.egress.grants_dir = (temp.path / "grants").string();
  f.engine.add_egress_proxy();
  f.engine.failures["create"] = core::Error{ErrorKind::not_found, "network mcp-sandbox-egress not found"};
  auto request = Fixture::request();
  request.egress = runner::EgressPolicy::open;
  auto outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::unavailable);
  CHECK(outcome.error().message.rfind("egress unavailable: ", 0) == 0);
  CHECK(outcome.error().message.find("is the egress proxy deployed") != std::string::npos);
  CHECK(std::filesystem::is_empty(f.options.egress.grants_dir));
}

TEST_CASE("executor: without a running egress proxy on the network a run with egress is refused before any container") {
  Fixture f;
  testing::TempDir temp;
  f.options.egress.offered = {runner::EgressPolicy::open};
  f.options.egress.grants_dir = (temp.path / "grants").string();
  auto request = Fixture::request();
  request.egress = runner::EgressPolicy::open;
  const std::string expected =
      "egress unavailable: no egress proxy is running on network mcp-sandbox-egress (a container labelled "
      "io.mcp-sandbox.kind=egress-proxy; docs/security.md, Egress)";
  // None at all; one on another network (another deployment's); the engine not answering.
  auto outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::unavailable);
  CHECK(outcome.error().message == expected);
  f.engine.add_egress_proxy("another-egress-network");
  outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().message == expected);
  f.engine.failures["list_containers"] = core::Error{ErrorKind::unavailable, "engine unavailable"};
  outcome = f.run(request);
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().message == "egress unavailable: engine unavailable");
  CHECK(f.engine.created_specs.empty());
  CHECK_FALSE(std::filesystem::exists(f.options.egress.grants_dir));
  // A run without egress does not ask.
  f.engine.failures.erase("list_containers");
  CHECK(f.run(Fixture::request()));
}

TEST_CASE("executor: a container that vanished mid-run is reported as interrupted and cleaned up") {
  Fixture f;
  f.engine.failures["wait"] = core::Error{ErrorKind::not_found, "No such container: fake1"};
  auto outcome = f.run(Fixture::request());
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::unavailable);
  CHECK(outcome.error().message.rfind("run interrupted: its container disappeared", 0) == 0);
  CHECK(f.engine.calls.back() == "remove");
}

TEST_CASE("executor: an engine that cannot be reached is 'engine unavailable'") {
  Fixture f;
  f.engine.failures["create"] = core::Error{ErrorKind::unavailable, "Docker engine unreachable at /x: refused"};
  auto outcome = f.run(Fixture::request());
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error().kind == ErrorKind::unavailable);
  CHECK(outcome.error().message.rfind("engine unavailable while creating", 0) == 0);
}

TEST_CASE("executor: a configured runtime is checked on the container, never silently replaced") {
  Fixture f;
  f.options.runtime = "runsc";
  SECTION("the engine honours it") {
    auto outcome = f.run(Fixture::request());
    REQUIRE(outcome);
    CHECK(f.engine.created_specs.at(0).runtime == "runsc");
  }
  SECTION("the engine used another one: the run fails before it starts") {
    f.engine.runtime_ignored = true;
    auto outcome = f.run(Fixture::request());
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().message.find("runtime 'runc' instead of the configured 'runsc'") != std::string::npos);
    CHECK(std::count(f.engine.calls.begin(), f.engine.calls.end(), "start") == 0);
    CHECK(f.engine.live_containers.empty());
  }
}

TEST_CASE("executor: without a configured runtime no extra inspect is made before start") {
  Fixture f;
  REQUIRE(f.run(Fixture::request()));
  const auto& calls = f.engine.calls;
  CHECK(std::find(calls.begin(), std::find(calls.begin(), calls.end(), "start"), "inspect") ==
        std::find(calls.begin(), calls.end(), "start"));
}

TEST_CASE("executor: a draining server refuses new runs and kills the ones cancelled by shutdown") {
  Fixture f;
  runner::RunDrain drain;
  f.options.drain = &drain;
  SECTION("cancelled in flight: killed, removed, reported as interrupted") {
    f.engine.program_hangs = true;
    drain.cancel_all();
    auto outcome = f.run(Fixture::request("while True: pass"));
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().message.find("server is shutting down") != std::string::npos);
    CHECK(std::count(f.engine.calls.begin(), f.engine.calls.end(), "kill") == 1);
    CHECK(f.engine.live_containers.empty());
    CHECK(drain.in_flight() == 0);
  }
  SECTION("closed: refused before any container exists") {
    drain.close();
    auto outcome = f.run(Fixture::request());
    REQUIRE_FALSE(outcome);
    CHECK(outcome.error().kind == ErrorKind::unavailable);
    CHECK(f.engine.created_specs.empty());
  }
}
