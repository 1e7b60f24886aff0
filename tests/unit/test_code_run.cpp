#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "runner/code_run.hpp"
#include "support/fake_engine.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// A CodeRun over the in-memory engine, with a real /data directory and a record of its events.
struct Fixture {
  testing::TempDir data;
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  runner::Executor executor{engine, catalog, runner::ExecutorOptions{}};
  runner::Admission admission{runner::AdmissionLimits{1, 0, std::chrono::milliseconds(1000)}};
  sandbox::Workspaces workspaces{data.path, data.path.string(), std::string(40, 's')};
  std::vector<std::string> events;
  runner::CodeRunLimits limits;

  Fixture() {
    engine.add_runner("python", R"(["py"])");
    catalog.reset(*runner::Registry::discover(engine));
  }

  runner::CodeRun code_run() {
    return runner::CodeRun(executor, admission, catalog, workspaces, limits,
                           runner::CodeRunEvents{
                               [this] { events.emplace_back("started"); },
                               [this](std::string_view language, std::string_view outcome, double) {
                                 events.push_back("finished " + std::string(language) + " " + std::string(outcome));
                               },
                               [this] { events.emplace_back("storage_full"); },
                               [this](std::string_view language, std::string_view result) {
                                 events.push_back("install " + std::string(language) + " " + std::string(result));
                               }});
  }

  runner::RunRequest request(std::string language = "py") const {
    runner::RunRequest r;
    r.language = std::move(language);
    r.code = "print(1)";
    r.workspace = sandbox::Workspace{"0123456789abcdef0123456789abcdef", data.path, "/host/data", false, nullptr, {}};
    return r;
  }
};

std::vector<std::string> paths(const std::vector<runner::RunFile>& files) {
  std::vector<std::string> out;
  for (const auto& file : files) out.push_back(file.path);
  return out;
}

std::vector<std::string> paths(const std::vector<runner::RunImage>& images) {
  std::vector<std::string> out;
  for (const auto& image : images) out.push_back(image.path);
  return out;
}

}  // namespace

TEST_CASE("code run: the files in /data after the run, and the images it made or changed") {
  Fixture f;
  write_file(f.data.path / "kept.png", "old image");
  write_file(f.data.path / "changed.png", "old");
  write_file(f.data.path / "notes.txt", "text");
  f.engine.on_start = [&] {
    write_file(f.data.path / "new.png", "new image");
    write_file(f.data.path / "changed.png", "a longer image");
  };
  auto ran = f.code_run().run(f.request());
  REQUIRE(ran);
  CHECK(ran->outcome.language == "python");
  CHECK(ran->outcome.stdout_data == "hello\n");
  CHECK(paths(ran->files) == std::vector<std::string>{"changed.png", "kept.png", "new.png", "notes.txt"});
  CHECK(ran->files[0].size == 14);
  CHECK_FALSE(ran->files_truncated);
  REQUIRE(paths(ran->images) == std::vector<std::string>{"changed.png", "new.png"});
  CHECK(ran->images[0].bytes == "a longer image");
  CHECK(ran->images[1].mime_type == "image/png");
  CHECK_FALSE(ran->usage);  // no quota
  CHECK(f.events == std::vector<std::string>{"started", "finished python ok"});
}

TEST_CASE("code run: which files the run changed, added and removed") {
  Fixture f;
  write_file(f.data.path / "same.txt", "same");
  write_file(f.data.path / "edited.csv", "x\n");
  write_file(f.data.path / "gone.txt", "bye");
  f.engine.on_start = [&] {
    write_file(f.data.path / "edited.csv", "x\n1\n");
    write_file(f.data.path / "added.png", "png");
    std::filesystem::remove(f.data.path / "gone.txt");
  };
  auto ran = f.code_run().run(f.request());
  REQUIRE(ran);
  REQUIRE(paths(ran->files) == std::vector<std::string>{"added.png", "edited.csv", "same.txt"});
  CHECK(ran->files[0].changed);
  CHECK(ran->files[0].added);
  CHECK(ran->files[1].changed);
  CHECK_FALSE(ran->files[1].added);
  CHECK_FALSE(ran->files[2].changed);
  CHECK(ran->removed == std::vector<std::string>{"gone.txt"});
}

TEST_CASE("code run: what it returns stays inside its limits") {
  Fixture f;
  f.limits = runner::CodeRunLimits{2, 1, 10};
  f.engine.on_start = [&] {
    write_file(f.data.path / "a.png", std::string(11, 'x'));  // over max_image_bytes: listed, not returned
    write_file(f.data.path / "b.png", "small");
    write_file(f.data.path / "c.png", "small");
  };
  auto ran = f.code_run().run(f.request());
  REQUIRE(ran);
  CHECK(paths(ran->files) == std::vector<std::string>{"a.png", "b.png"});
  CHECK(ran->files_truncated);
  CHECK(paths(ran->images) == std::vector<std::string>{"b.png"});
}

TEST_CASE("code run: a failing program is a result; a run that cannot happen is an error") {
  Fixture f;
  f.engine.exit_code = 3;
  auto failed = f.code_run().run(f.request());
  REQUIRE(failed);
  CHECK(failed->outcome.exit_code == 3);
  CHECK(f.events.back() == "finished python failed");

  f.engine.failures["create"] = core::Error{core::ErrorKind::unavailable, "engine down"};
  auto impossible = f.code_run().run(f.request());
  REQUIRE_FALSE(impossible);
  CHECK(impossible.error().kind == core::ErrorKind::unavailable);
  CHECK(impossible.error().message.rfind("The run could not happen: engine unavailable while", 0) == 0);
  CHECK(f.events.back() == "finished python error");
}

TEST_CASE("code run: the admission slot is held for the whole run and given back after") {
  Fixture f;
  std::size_t running_during = 0;
  f.engine.on_start = [&] { running_during = f.admission.counts().running; };
  REQUIRE(f.code_run().run(f.request()));
  CHECK(running_during == 1);
  CHECK(f.admission.counts().running == 0);

  // With the only slot taken and no queue, a run is refused at once, before anything starts.
  auto held = f.admission.acquire("someone-else", {});
  REQUIRE(held);
  f.events.clear();
  auto refused = f.code_run().run(f.request());
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message.find("busy") != std::string::npos);
  CHECK(f.events.empty());
  CHECK(f.engine.created_specs.size() == 1);  // only the first run's container
}

TEST_CASE("code run: metrics see a runner's name or \"unknown\", never the caller's spelling") {
  Fixture f;
  auto code_run = f.code_run();
  CHECK(code_run.language_label("py") == "python");
  CHECK(code_run.language_label("python") == "python");
  CHECK(code_run.language_label("cobol") == "unknown");
  CHECK(code_run.language_label("py\nthon") == "unknown");

  for (const std::string language : {"cobol", "fortran-77", "x\x1b[2J"}) {
    auto refused = code_run.run(f.request(language));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find("unknown language") != std::string::npos);
  }
  f.engine.failures["create"] = core::Error{core::ErrorKind::unavailable, "engine down"};
  REQUIRE_FALSE(code_run.run(f.request("py")));
  CHECK(f.events == std::vector<std::string>{"started", "finished unknown error", "started", "finished unknown error",
                                             "started", "finished unknown error", "started",
                                             "finished python error"});
}

namespace {

// A python runner that installs with a pip-like argv, an executor offering the packages policy
// through a proxy the engine lists, and a real /data.
struct InstallFixture {
  testing::TempDir data;
  testing::TempDir grants;
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  std::unique_ptr<runner::Executor> executor;
  runner::Admission admission{runner::AdmissionLimits{1, 0, std::chrono::milliseconds(1000)}};
  sandbox::Workspaces workspaces{data.path, data.path.string(), std::string(40, 's')};
  std::vector<std::string> events;

  InstallFixture() {
    engine.add_runner("python", R"(["py"])",
                      R"(,"registries":["pypi.mirror.test"],"packages":{"installer":"pip",)"
                      R"("install":["pip","install","--target","/data/.packages/python"],)"
                      R"("environment":{"PYTHONPATH":"/data:/data/.packages/python"}})");
    engine.add_egress_proxy();
    catalog.reset(*runner::Registry::discover(engine));
    runner::ExecutorOptions options;
    options.egress.offered = {runner::EgressPolicy::packages};
    options.egress.grants_dir = grants.path.string();
    options.egress.install_environment["python"] = {{"PIP_INDEX_URL", "http://pypi.mirror.test/simple/"}};
    executor = std::make_unique<runner::Executor>(engine, catalog, options);
  }

  runner::CodeRun code_run() {
    return runner::CodeRun(*executor, admission, catalog, workspaces, runner::CodeRunLimits{},
                           runner::CodeRunEvents{
                               [] {},
                               [this](std::string_view language, std::string_view outcome, double) {
                                 events.push_back("finished " + std::string(language) + " " + std::string(outcome));
                               },
                               [] {},
                               [this](std::string_view language, std::string_view result) {
                                 events.push_back("install " + std::string(language) + " " + std::string(result));
                               }});
  }

  runner::RunRequest request(std::vector<std::string> dependencies) const {
    runner::RunRequest r;
    r.language = "py";
    r.code = "import demo";
    r.timeout_seconds = 20;
    r.dependencies = std::move(dependencies);
    r.workspace = sandbox::Workspace{"0123456789abcdef0123456789abcdef", data.path, "/host/data", false, nullptr, {}};
    return r;
  }
};

bool has_env(const docker::ContainerSpec& spec, const std::string& entry) {
  return std::find(spec.env.begin(), spec.env.end(), entry) != spec.env.end();
}

}  // namespace

TEST_CASE("code run: dependencies are installed by the runner's installer through the packages policy, once") {
  InstallFixture f;
  // The installer writes into /data/.packages as pip --target would.
  f.engine.on_start = [&] {
    fs::create_directories(f.data.path / ".packages" / "python" / "demo");
    write_file(f.data.path / ".packages" / "python" / "demo" / "__init__.py", "x = 1\n");
  };
  auto ran = f.code_run().run(f.request({"demo==1.0"}));
  REQUIRE(ran);
  REQUIRE(f.engine.created_specs.size() == 2);
  const auto& install = f.engine.created_specs[0];
  // The installer's argv with the specs appended, on the egress network with the proxy settings
  // and the operator's install environment; nothing compiled, the program's command not run.
  const std::vector<std::string> tail(install.cmd.end() - 5, install.cmd.end());
  CHECK(tail == std::vector<std::string>{"pip", "install", "--target", "/data/.packages/python", "demo==1.0"});
  CHECK(install.network_mode == "mcp-sandbox-egress");
  CHECK_FALSE(install.network_disabled);
  CHECK(has_env(install, "PIP_INDEX_URL=http://pypi.mirror.test/simple/"));
  // The program: no network, no install environment, the packages on its path.
  const auto& program = f.engine.created_specs[1];
  CHECK(program.network_disabled);
  CHECK_FALSE(has_env(program, "PIP_INDEX_URL=http://pypi.mirror.test/simple/"));
  CHECK(has_env(program, "PYTHONPATH=/data:/data/.packages/python"));
  REQUIRE(ran->install);
  CHECK(ran->install->succeeded());
  CHECK_FALSE(ran->install->cached);
  CHECK(ran->install->packages == std::vector<std::string>{"demo==1.0"});
  // Installed packages are not the program's files.
  CHECK(ran->files.empty());
  CHECK(f.events == std::vector<std::string>{"install python installed", "finished python ok"});

  // The same dependencies again, or fewer: nothing is installed, only the program runs.
  f.engine.on_start = nullptr;
  auto again = f.code_run().run(f.request({"demo==1.0"}));
  REQUIRE(again);
  CHECK(f.engine.created_specs.size() == 3);
  REQUIRE(again->install);
  CHECK(again->install->cached);
  CHECK_FALSE(again->install->outcome);
  // A new one installs again (only what is asked; the record keeps both).
  REQUIRE(f.code_run().run(f.request({"other"})));
  CHECK(f.engine.created_specs.size() == 5);
  auto both = f.code_run().run(f.request({"demo==1.0", "other"}));
  REQUIRE(both);
  CHECK(both->install->cached);
}

TEST_CASE("code run: dependencies that fail to install leave the program unrun, with the installer's words") {
  InstallFixture f;
  f.engine.exit_code = 1;
  f.engine.program_stderr = "ERROR: No matching distribution found for nothing-such\n";
  auto ran = f.code_run().run(f.request({"nothing-such"}));
  REQUIRE(ran);
  CHECK(f.engine.created_specs.size() == 1);  // the installer's only
  REQUIRE(ran->install);
  CHECK_FALSE(ran->install->succeeded());
  REQUIRE(ran->install->outcome);
  CHECK(ran->install->outcome->stderr_data.find("No matching distribution") != std::string::npos);
  CHECK(f.events == std::vector<std::string>{"install python failed", "finished python install_failed"});
  // Nothing was recorded: the next call tries again.
  f.engine.exit_code = 0;
  f.engine.program_stderr.clear();
  auto retried = f.code_run().run(f.request({"nothing-such"}));
  REQUIRE(retried);
  CHECK_FALSE(retried->install->cached);
}

TEST_CASE("code run: a runner without an installer, or a server without the packages policy, installs nothing") {
  InstallFixture f;
  testing::FakeEngine plain;
  plain.add_runner("python", R"(["py"])");
  runner::RunnerCatalog catalog;
  catalog.reset(*runner::Registry::discover(plain));
  runner::Executor executor(plain, catalog, runner::ExecutorOptions{});
  runner::CodeRun code_run(executor, f.admission, catalog, f.workspaces, runner::CodeRunLimits{}, runner::CodeRunEvents{});
  auto refused = code_run.run(f.request({"demo"}));
  REQUIRE_FALSE(refused);
  CHECK(refused.error().message ==
        "The run could not happen: the python runner does not install dependencies (list_runners says which do)");
  CHECK(plain.created_specs.empty());
}
