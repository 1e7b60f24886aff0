#include <catch2/catch.hpp>

#include <filesystem>

#include "core/encoding.hpp"
#include "core/random.hpp"
#include "support/fake_engine.hpp"
#include "support/temp_dir.hpp"
#include "sandbox/files.hpp"
#include "support/mounts.hpp"
#include "runner/container_spec.hpp"
#include "runner/runtime_share.hpp"
#include "mcp/tool_methods.hpp"
#include "tools/run_code.hpp"
#include "runner/new_conversation_pool.hpp"
#include "sandbox/conversation_index.hpp"
#include "tools/tools.hpp"

#include <set>

namespace fs = std::filesystem;

// Cases tagged [root] run only as root and are reported skipped otherwise (support/test_session.hpp):
// opening a conversation gives its directory to the runner user (uid 1000), and quota volumes are
// loop-mounted.

using nlohmann::json;

namespace {

// A tools/call through the protocol layer, as a client's arrives (revision 2025-11-25), on any
// registry: a test that builds its own Services registers its own tools.
tl::expected<json, mcp::RpcError> call_through_protocol(const mcp::ToolRegistry& registry, const std::string& name,
                                                        const json& arguments, const std::string& session_id = {}) {
  mcp::ToolCallScope scope;
  scope.revision = &mcp::revision("2025-11-25");
  scope.session_id = session_id;
  return mcp::call_tool(registry, json{{"name", name}, {"arguments", arguments}}, scope);
}

// The tools over an in-memory engine and a real temporary sandbox root.
struct ToolsFixture {
  fs::path root = fs::temp_directory_path() / ("mcp-sandbox-tools-" + core::random_hex(6));
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'800'000'000);
  sandbox::Workspaces workspaces;
  sandbox::UrlSigner signer{std::string(40, 's'), "http://files.test", std::chrono::seconds(60)};
  metrics::Metrics metrics;
  runner::Executor executor{engine, catalog, runner::ExecutorOptions{}};
  runner::Admission admission{runner::AdmissionLimits{}};
  tools::Services services{executor, admission, catalog, workspaces, signer, metrics, config::RunLimits{},
                           "http://files.test", tools::ResultLimits{}};
  mcp::ToolRegistry registry;
  std::string session_id;  ///< the session the calls arrive on; empty: stateless

  explicit ToolsFixture(sandbox::VolumeLimits quota = {})
      : workspaces(root, root.string(), std::string(40, 's'),
                   sandbox::WorkspaceOptions{quota, [n = now] { return *n; }, nullptr}) {
    fs::create_directories(root);
    REQUIRE(workspaces.prepare_root());
    engine.add_runner("python", R"(["py"])");
    catalog.reset(*runner::Registry::discover(engine));
    tools::register_tools(registry, services);
  }
  ~ToolsFixture() {
    // Deletes every conversation (and unmounts its volume) before the directory goes.
    *now += 3650L * 86400;
    sandbox::SweepPolicy policy;
    policy.ttl_seconds = 1;
    workspaces.sweep(policy);
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }

  // A tools/call through the protocol layer, as a client's arrives, so its rules apply as they do
  // in the server: a protocol error comes back as the error, with the JSON-RPC code in front.
  tl::expected<json, mcp::RpcError> rpc(const std::string& name, const json& arguments) {
    return call_through_protocol(registry, name, arguments, session_id);
  }

  core::Result<json> call(const std::string& name, const json& arguments) {
    auto result = rpc(name, arguments);
    if (!result) {
      return core::fail(core::ErrorKind::internal, std::to_string(result.error().code) + " " + result.error().message);
    }
    return *result;
  }

  static std::string text(const json& result) { return result["content"][0]["text"].get<std::string>(); }
};

}  // namespace

TEST_CASE("tools: every tool is listed with schemas and annotations") {
  ToolsFixture f;
  std::vector<std::string> names;
  for (const auto& tool : f.registry.definitions()) {
    names.push_back(tool.name);
    CHECK(tool.input_schema["type"] == "object");
    CHECK(tool.output_schema["type"] == "object");
    CHECK(tool.annotations.contains("readOnlyHint"));
    CHECK_FALSE(tool.description.empty());
  }
  CHECK(names == std::vector<std::string>{"run_code", "upload_file", "list_files", "read_file", "delete_file",
                                          "list_runners"});
}

TEST_CASE("tools: run_code returns the outcome as structured content and text", "[root]") {
  ToolsFixture f;
  f.engine.program_stdout = "42\n";
  auto result = f.call("run_code", {{"conversationId", "c1"}, {"language", "py"}, {"code", "print(42)"}});
  REQUIRE(result);
  CHECK((*result)["isError"] == false);
  const auto& s = (*result)["structuredContent"];
  CHECK(s["conversationId"] == "c1");
  CHECK(s["exitCode"] == 0);
  CHECK(s["stdout"] == "42\n");
  CHECK(s["timedOut"] == false);
  CHECK(s["files"].is_array());
  CHECK(ToolsFixture::text(*result).find("ran successfully") != std::string::npos);
  // FILE_BASE_URL reaches the program with its code (the bootstrap exports it), not in the
  // container's environment, which a container started for another directory would have.
  const auto& env = f.engine.created_specs.at(0).env;
  CHECK(std::none_of(env.begin(), env.end(), [](const std::string& e) { return e.rfind("FILE_BASE_URL=", 0) == 0; }));
  const auto first_line = f.engine.received_input.substr(0, f.engine.received_input.find('\n'));
  CHECK(first_line.find(" http://files.test/files/") != std::string::npos);
}

TEST_CASE("tools: a failing program is a tool error the model can read", "[root]") {
  ToolsFixture f;
  f.engine.exit_code = 2;
  f.engine.program_stderr = "Traceback: boom\n";
  auto result = f.call("run_code", {{"language", "python"}, {"code", "boom()"}, {"conversationId", "c"}});
  REQUIRE(result);
  CHECK((*result)["isError"] == true);
  CHECK(ToolsFixture::text(*result).find("exited with code 2") != std::string::npos);
  CHECK(ToolsFixture::text(*result).find("Traceback: boom") != std::string::npos);
}

TEST_CASE("tools: bad arguments and fixable mistakes are tool errors the model can read", "[root]") {
  ToolsFixture f;
  auto missing = f.call("run_code", {{"language", "python"}});
  REQUIRE(missing);
  CHECK((*missing)["isError"] == true);
  CHECK(ToolsFixture::text(*missing) == "'code' is required");
  auto wrong_type = f.call("run_code", {{"language", "python"}, {"code", "x"}, {"timeoutSeconds", "ten"}});
  REQUIRE(wrong_type);
  CHECK(ToolsFixture::text(*wrong_type) == "'timeoutSeconds' must be a number");
  CHECK(f.engine.created_specs.empty());

  auto unknown = f.call("run_code", {{"language", "cobol"}, {"code", "x"}});
  REQUIRE(unknown);
  CHECK((*unknown)["isError"] == true);
  CHECK(ToolsFixture::text(*unknown).find("unknown language 'cobol'; available: python") != std::string::npos);
  auto bad_id = f.call("list_files", {{"conversationId", "../../etc"}});
  REQUIRE(bad_id);
  CHECK((*bad_id)["isError"] == true);
  auto network = f.call("run_code", {{"language", "python"}, {"code", "x"}, {"network", true}});
  REQUIRE(network);
  CHECK(ToolsFixture::text(*network).find("network access is disabled") != std::string::npos);
}

TEST_CASE("tools: what a tool refuses is a tool result; only an unknown tool is a protocol error (-32602)", "[root]") {
  ToolsFixture f;
  // Each kind of refusal a tool can make reaches the model as text with isError, never as -32602.
  const std::vector<std::pair<std::string, json>> refused = {
      {"run_code", {{"code", "x"}}},                                          // a required argument missing
      {"run_code", {{"language", 7}, {"code", "x"}}},                          // of the wrong type
      {"run_code", {{"language", "cobol"}, {"code", "x"}}},                    // an unknown language
      {"run_code", {{"language", "python"}, {"code", "x"}, {"environment", {{"1BAD", "v"}}}}},  // refused by the executor
      {"upload_file", {{"filename", "../x"}, {"content", "eA=="}}},           // a path that leaves /data
      {"upload_file", {{"filename", "x"}, {"content", "!!"}}},                // not base64
      {"read_file", {{"conversationId", "c"}, {"path", "missing.txt"}}},      // not found
      {"list_files", {{"conversationId", "bad/id"}}},                         // a conversation id it cannot take
  };
  for (const auto& [name, arguments] : refused) {
    CAPTURE(name, arguments.dump());
    const auto result = f.rpc(name, arguments);
    REQUIRE(result);
    CHECK((*result)["isError"] == true);
    CHECK_FALSE(ToolsFixture::text(*result).empty());
  }
  CHECK(f.engine.created_specs.empty());

  const auto unknown = f.rpc("no_such_tool", json::object());
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().code == -32602);
  CHECK(unknown.error().message == "Unknown tool: no_such_tool");
}

TEST_CASE("tools: the conversation comes from the argument, the session, or is minted", "[root]") {
  ToolsFixture f;
  auto minted = f.call("list_files", json::object());
  REQUIRE(minted);
  const auto id = (*minted)["structuredContent"]["conversationId"].get<std::string>();
  CHECK(id.rfind("conv-", 0) == 0);
  f.session_id = "abc123";
  auto session = f.call("list_files", json::object());
  CHECK((*session)["structuredContent"]["conversationId"] == "session-abc123");
  auto given = f.call("list_files", {{"conversationId", "mine"}});
  CHECK((*given)["structuredContent"]["conversationId"] == "mine");
}

TEST_CASE("tools: upload, list, read and delete files of a conversation", "[root]") {
  ToolsFixture f;
  auto uploaded = f.call("upload_file", {{"conversationId", "c"}, {"filename", "data/in.csv"},
                                         {"content", core::base64_encode("a,b\n1,2\n")}});
  REQUIRE(uploaded);
  CHECK((*uploaded)["isError"] == false);
  const auto& file = (*uploaded)["structuredContent"]["file"];
  CHECK(file["name"] == "data/in.csv");
  CHECK(file["size"] == 8);
  CHECK(file["mimeType"] == "text/csv");
  CHECK(file["url"].get<std::string>().rfind("http://files.test/files/", 0) == 0);

  auto listed = f.call("list_files", {{"conversationId", "c"}});
  REQUIRE(listed);
  REQUIRE((*listed)["structuredContent"]["files"].size() == 1);
  auto other = f.call("list_files", {{"conversationId", "someone-else"}});
  CHECK((*other)["structuredContent"]["files"].empty());

  auto read = f.call("read_file", {{"conversationId", "c"}, {"path", "data/in.csv"}});
  REQUIRE(read);
  CHECK(ToolsFixture::text(*read) == "a,b\n1,2\n");

  const std::string png("\x89PNG\r\n\x1a\n\0\0", 10);
  REQUIRE(f.call("upload_file", {{"conversationId", "c"}, {"filename", "p.png"}, {"content", core::base64_encode(png)}}));
  auto image = f.call("read_file", {{"conversationId", "c"}, {"path", "p.png"}});
  REQUIRE(image);
  CHECK((*image)["content"][1]["type"] == "image");
  CHECK((*image)["content"][1]["mimeType"] == "image/png");
  CHECK(core::base64_decode((*image)["content"][1]["data"].get<std::string>()) == std::optional<std::string>(png));

  auto deleted = f.call("delete_file", {{"conversationId", "c"}, {"path", "data"}});
  REQUIRE(deleted);
  CHECK((*deleted)["isError"] == false);
  auto gone = f.call("read_file", {{"conversationId", "c"}, {"path", "data/in.csv"}});
  CHECK((*gone)["isError"] == true);
}

TEST_CASE("tools: bad file names are refused with a clear message", "[root]") {
  ToolsFixture f;
  for (const std::string& name : std::vector<std::string>{"../escape", "/etc/passwd", "", "a/../../b",
                                                          std::string(2000, 'x')}) {
    CAPTURE(name);
    auto result = f.call("upload_file", {{"conversationId", "c"}, {"filename", name}, {"content", "eA=="}});
    REQUIRE(result);
    CHECK((*result)["isError"] == true);
    CHECK(ToolsFixture::text(*result).rfind("filename: ", 0) == 0);
  }
  auto bad_base64 = f.call("upload_file", {{"conversationId", "c"}, {"filename", "x"}, {"content", "!!"}});
  CHECK(ToolsFixture::text(*bad_base64) == "content is not valid base64");
}

TEST_CASE("tools: list_runners reports languages and limits") {
  ToolsFixture f;
  auto result = f.call("list_runners", json::object());
  REQUIRE(result);
  const auto& s = (*result)["structuredContent"];
  REQUIRE(s["runners"].size() == 1);
  CHECK(s["runners"][0]["language"] == "python");
  CHECK(s["runners"][0]["aliases"] == json::array({"py"}));
  CHECK(s["limits"]["memoryMb"] == 256);
  CHECK(s["limits"]["timeoutSeconds"] == 30);
  CHECK(s["limits"]["networkAllowed"] == false);
  CHECK(s["limits"]["runtime"] == "default");
  CHECK_FALSE(s["limits"].contains("runtimeShare"));
}

TEST_CASE("tools: a compiled runner with its own limits: list_runners shows them, run_code applies them", "[root]") {
  ToolsFixture f;
  f.engine.add_runner("rust", R"(["rs"])");
  auto registry = *runner::Registry::discover(f.engine);
  std::vector<runner::Runner> runners = registry.runners();
  for (auto& runner : runners) {
    if (runner.manifest.language != "rust") continue;
    runner.manifest.compile = {"rustc", "-o", "/build/main", "/tmp/main.rust"};
    runner.manifest.command = {"/build/main"};
    runner.manifest.limits.memory_mb = 4096;  // beyond the default maximum (1024)
    runner.manifest.limits.timeout_seconds = 45;
  }
  f.catalog.reset(runner::Registry(runners));

  auto listed = f.call("list_runners", json::object());
  REQUIRE(listed);
  const auto& s = (*listed)["structuredContent"];
  for (const auto& runner : s["runners"]) {
    if (runner["language"] == "rust") {
      CHECK(runner["compiled"] == true);
      CHECK(runner["limits"]["memoryMb"] == 1024);
      CHECK(runner["limits"]["timeoutSeconds"] == 45);
      CHECK(runner["limits"]["cpus"] == 0.5);
    } else {
      CHECK(runner["compiled"] == false);
      CHECK(runner["limits"]["memoryMb"] == 256);
    }
  }
  CHECK(s["limits"]["runnerMaxima"]["memoryMb"] == 1024);
  CHECK(ToolsFixture::text(*listed).find("rust (rust 1.0), also rs; its own limits: 0.5 CPU, 1024 MiB, 45 s") !=
        std::string::npos);

  auto ran = f.call("run_code", {{"conversationId", "c1"}, {"language", "rs"}, {"code", "fn main() {}"}});
  REQUIRE(ran);
  const auto& spec = f.engine.created_specs.at(0);
  CHECK(spec.memory_bytes == 1024LL * 1024 * 1024);
  CHECK(spec.cmd.at(2) == runner::kCompileBootstrap);
  CHECK(spec.tmpfs.count("/build") == 1);
}

TEST_CASE("tools: under runsc list_runners states gVisor's share of the limits") {
  ToolsFixture f;
  runner::ExecutorOptions options;
  options.runtime = "runsc";
  runner::Executor executor{f.engine, f.catalog, options};
  tools::Services services{executor, f.admission, f.catalog, f.workspaces, f.signer, f.metrics, config::RunLimits{},
                           "http://files.test", tools::ResultLimits{}};
  mcp::ToolRegistry registry;
  tools::register_tools(registry, services);
  auto result = call_through_protocol(registry, "list_runners", json::object());
  REQUIRE(result);
  const auto& limits = (*result)["structuredContent"]["limits"];
  CHECK(limits["runtime"] == "runsc");
  CHECK(limits["memoryMb"] == 256);
  const auto share = *runner::runtime_share("runsc");
  CHECK(limits["runtimeShare"]["memoryMb"] == share.memory_mb);
  CHECK(limits["runtimeShare"]["pids"] == share.pids);
  CHECK(limits["runtimeShare"]["pidsPerThread"] == share.pids_per_thread);
  CHECK(limits["programGets"]["memoryMb"] == 256 - share.memory_mb);
  // 128 pids: gVisor's own ~48 threads, then ~8 host threads per program thread.
  CHECK(limits["programGets"]["threads"] == (128 - share.pids) / share.pids_per_thread);
  CHECK(ToolsFixture::text(*result).find("a program gets about 240 MiB") != std::string::npos);
}

TEST_CASE("tools: with a quota, a full conversation is reported by run_code, upload_file and list_files", "[root]") {
  ToolsFixture f(sandbox::VolumeLimits{16 * 1024 * 1024, 100});
  auto listed = f.call("list_files", {{"conversationId", "q"}});
  REQUIRE(listed);
  const auto& storage = (*listed)["structuredContent"]["storage"];
  CHECK(storage["usedFiles"] == 0);
  CHECK(storage["limitFiles"].get<int>() >= 100);
  CHECK(storage["full"] == false);
  CHECK(ToolsFixture::text(*listed).find("; storage ") != std::string::npos);

  auto too_big = f.call("upload_file", {{"conversationId", "q"}, {"filename", "big.bin"},
                                         {"content", core::base64_encode(std::string(20 * 1024 * 1024, 'x'))}});
  REQUIRE(too_big);
  CHECK((*too_big)["isError"] == true);
  CHECK(ToolsFixture::text(*too_big).find("do not fit; conversation storage:") != std::string::npos);
  listed = f.call("list_files", {{"conversationId", "q"}});
  CHECK((*listed)["structuredContent"]["files"].empty());  // nothing partial left

  // A program that filled the volume: the run's result says so.
  auto workspace = f.workspaces.open("q");
  REQUIRE(workspace);
  for (int i = 0; i < 200; ++i) {
    if (!sandbox::SandboxFiles(workspace->server_path).write("f" + std::to_string(i), "x")) break;
  }
  auto ran = f.call("run_code", {{"conversationId", "q"}, {"language", "py"}, {"code", "print(1)"}});
  REQUIRE(ran);
  CHECK(ToolsFixture::text(*ran).find("Conversation storage full:") != std::string::npos);
  CHECK((*ran)["structuredContent"]["storage"]["full"] == true);
}

TEST_CASE("tools: without a quota, storage is null") {
  ToolsFixture f;
  auto listed = f.call("list_files", {{"conversationId", "plain"}});
  REQUIRE(listed);
  CHECK((*listed)["structuredContent"]["storage"].is_null());
}

TEST_CASE("tools: the run_code schema and list_runners say which egress policies are offered, per runner") {
  ToolsFixture f;
  runner::ExecutorOptions options;
  options.egress.offered = {runner::EgressPolicy::packages, runner::EgressPolicy::open};
  runner::Executor executor{f.engine, f.catalog, options};
  tools::Services services{executor, f.admission, f.catalog, f.workspaces, f.signer, f.metrics, config::RunLimits{},
                           "http://files.test", tools::ResultLimits{}};
  const auto definition = tools::run_code_definition(services);
  const auto& egress = definition.input_schema["properties"]["egress"];
  CHECK(egress["enum"] == json::array({"none", "packages", "open"}));
  CHECK(egress["default"] == "none");
  CHECK(definition.annotations["openWorldHint"] == true);

  mcp::ToolRegistry registry;
  tools::register_tools(registry, services);
  auto result = call_through_protocol(registry, "list_runners", json::object());
  REQUIRE(result);
  // python's manifest lists no registries and the operator named none: packages does not apply to it.
  CHECK((*result)["structuredContent"]["runners"][0]["egress"] == json::array({"none", "open"}));
  CHECK((*result)["structuredContent"]["limits"]["networkAllowed"] == true);

  // An unknown policy is refused with the names; one not offered says what is.
  auto unknown = call_through_protocol(registry, "run_code", {{"language", "python"}, {"code", "x"}, {"egress", "all"}});
  REQUIRE(unknown);
  CHECK((*unknown)["isError"] == true);
  CHECK((*unknown)["content"][0]["text"].get<std::string>().find("egress must be one of none, packages, allowlist, open") !=
        std::string::npos);
}

TEST_CASE("tools: run_code's dependencies are checked, installed apart from the program and reported apart") {
  ToolsFixture f;
  const auto error_text = [&](mcp::ToolRegistry& registry, const json& arguments) {
    auto result = call_through_protocol(registry, "run_code", arguments);
    REQUIRE(result);
    CHECK((*result)["isError"] == true);
    return (*result)["content"][0]["text"].get<std::string>();
  };
  // The fixture's python runner has no installer.
  CHECK(error_text(f.registry, {{"language", "python"}, {"code", "x"}, {"dependencies", {"demo"}}})
            .find("the python runner does not install dependencies (runners that do: none on this server)") !=
        std::string::npos);

  testing::FakeEngine engine;
  engine.add_runner("python", R"(["py"])",
                    R"(,"registries":["pypi.mirror.test"],"packages":{"installer":"pip","install":["pip","install"]})");
  engine.add_egress_proxy();
  runner::RunnerCatalog catalog;
  catalog.reset(*runner::Registry::discover(engine));
  const testing::TempDir grants;
  runner::ExecutorOptions options;
  options.egress.grants_dir = grants.path.string();
  {
    // An installer, but no packages policy on this server.
    runner::Executor executor{engine, catalog, options};
    tools::Services services{executor, f.admission, catalog, f.workspaces, f.signer, f.metrics, config::RunLimits{},
                             "http://files.test", tools::ResultLimits{}};
    mcp::ToolRegistry registry;
    tools::register_tools(registry, services);
    CHECK(error_text(registry, {{"language", "python"}, {"code", "x"}, {"dependencies", {"demo"}}})
              .find("the packages egress policy, which this server does not offer") != std::string::npos);
    CHECK(engine.created_specs.empty());
  }
  options.egress.offered = {runner::EgressPolicy::packages};
  runner::Executor executor{engine, catalog, options};
  tools::Services services{executor, f.admission, catalog, f.workspaces, f.signer, f.metrics, config::RunLimits{},
                           "http://files.test", tools::ResultLimits{}};
  mcp::ToolRegistry registry;
  tools::register_tools(registry, services);
  CHECK(tools::run_code_definition(services).input_schema["properties"]["dependencies"]["maxItems"] == 16);
  // Anything but a package of the installer's grammar, and the wrong type, are refused before any container.
  CHECK(error_text(registry, {{"language", "python"}, {"code", "x"}, {"dependencies", {"--index-url=http://x.test/"}}})
            .find("is not a Python package name") != std::string::npos);
  CHECK(error_text(registry, {{"language", "python"}, {"code", "x"}, {"dependencies", "demo"}})
            .find("'dependencies' must be an array of strings") != std::string::npos);
  CHECK(engine.created_specs.empty());
  auto listed = call_through_protocol(registry, "list_runners", json::object());
  REQUIRE(listed);
  CHECK((*listed)["structuredContent"]["runners"][0]["installsDependencies"] == true);

  engine.program_stdout = "Successfully installed demo-1.0\n";
  auto result =
      call_through_protocol(registry, "run_code", {{"language", "python"}, {"code", "x"}, {"dependencies", {"demo"}}});
  REQUIRE(result);
  CHECK((*result)["isError"] == false);
  const auto& install = (*result)["structuredContent"]["install"];
  CHECK(install["packages"] == json::array({"demo"}));
  CHECK(install["cached"] == false);
  CHECK(install["stdout"] == "Successfully installed demo-1.0\n");
  CHECK((*result)["content"][0]["text"].get<std::string>().find("Dependencies demo: installed") != std::string::npos);
  CHECK(engine.created_specs.size() == 2);

  engine.exit_code = 1;
  engine.program_stderr = "ERROR: No matching distribution found for missing\n";
  auto failed =
      call_through_protocol(registry, "run_code", {{"language", "python"}, {"code", "x"}, {"dependencies", {"missing"}}});
  REQUIRE(failed);
  CHECK((*failed)["isError"] == true);
  const auto text = (*failed)["content"][0]["text"].get<std::string>();
  CHECK(text.find("could not be installed, so the program did not run") != std::string::npos);
  CHECK(text.find("No matching distribution found for missing") != std::string::npos);
  CHECK((*failed)["structuredContent"]["install"]["exitCode"] == 1);
  CHECK((*failed)["structuredContent"]["stderr"] == "");
  CHECK(engine.created_specs.size() == 3);
}

TEST_CASE("tools: a new conversation's first run_code takes a container started for it; its caller lists it", "[root]") {
  const fs::path root = fs::temp_directory_path() / ("mcp-sandbox-tools-" + core::random_hex(6));
  const fs::path state = root.string() + "-state";
  fs::create_directories(root);
  testing::FakeEngine engine;
  engine.add_runner("python", R"(["py"])");
  runner::RunnerCatalog catalog;
  catalog.reset(*runner::Registry::discover(engine));
  std::shared_ptr<sandbox::ConversationIndex> index = std::move(*sandbox::ConversationIndex::open(state, 100));
  sandbox::Workspaces workspaces(root, "/host/sandboxes", std::string(40, 's'),
                                 sandbox::WorkspaceOptions{{}, {}, index});
  REQUIRE(workspaces.prepare_root());
  int hits = 0;
  runner::ExecutorOptions options;
  options.warm_max = 4;
  options.egress.offered = {runner::EgressPolicy::open};
  options.egress.grants_dir = (root.string() + "-grants");
  engine.add_egress_proxy();
  options.warm_scheduler = [](std::function<void()> job) { job(); };
  options.warm_events.claimed = [&hits](bool hit) { hits += hit ? 1 : 0; };
  runner::Executor executor(engine, catalog, options);
  runner::Admission admission{runner::AdmissionLimits{}};
  sandbox::UrlSigner signer{std::string(40, 's'), "http://files.test", std::chrono::seconds(60)};
  metrics::Metrics metrics;
  tools::Services services{executor, admission, catalog, workspaces, signer, metrics, config::RunLimits{},
                           "http://files.test", tools::ResultLimits{}};
  runner::NewConversationPool pool(executor, workspaces,
                                   runner::NewConversationPoolOptions{1, std::chrono::seconds(100),
                                                                      std::chrono::milliseconds(0)});
  services.new_conversations = &pool;
  mcp::ToolRegistry registry;
  tools::register_tools(registry, services);
  const auto call = [&](const json& arguments) {
    mcp::ToolCallScope scope;
    scope.revision = &mcp::revision("2025-11-25");
    scope.caller = "token:0123456789abcdef";
    auto result = mcp::call_tool(registry, json{{"name", "run_code"}, {"arguments", arguments}}, scope);
    REQUIRE(result);
    REQUIRE((*result)["isError"] == false);
    return (*result)["structuredContent"];
  };

  // The first new conversation in python finds no pool yet (the language was not in use): cold.
  const auto first = call({{"language", "py"}, {"code", "print(1)"}});
  CHECK(hits == 0);
  pool.tick(std::chrono::steady_clock::now());
  REQUIRE(pool.size() == 1);
  const auto pooled_bind = engine.created_specs.back().binds.at(0);

  // The next new conversation is born in the pooled directory and its run is a warm hit.
  const auto second = call({{"conversationId", "brand-new"}, {"language", "python"}, {"code", "print(1)"}});
  CHECK(second["conversationId"] == "brand-new");
  CHECK(hits == 1);
  CHECK(pool.size() == 0);
  const auto adopted = workspaces.open("brand-new");
  REQUIRE(adopted);
  CHECK(pooled_bind == "/host/sandboxes/" + adopted->name + ":/data:rw");
  CHECK(adopted->name != workspaces.key_of("brand-new"));
  // Its follow-up finds its own successor; an existing conversation never takes from the pool.
  pool.tick(std::chrono::steady_clock::now());
  (void)call({{"conversationId", "brand-new"}, {"language", "python"}, {"code", "print(1)"}});
  CHECK(hits == 2);
  CHECK(pool.size() == 1);
  // A run with network is never served from the pool.
  (void)call({{"conversationId", "with-network"}, {"language", "python"}, {"code", "print(1)"}, {"network", true}});
  CHECK(hits == 2);
  CHECK(pool.size() == 1);

  // Every conversation the caller used is in their list.
  auto listed = index->recent("token:0123456789abcdef", 10);
  REQUIRE(listed);
  std::set<std::string> keys;
  for (const auto& entry : *listed) keys.insert(entry.key);
  CHECK(keys == std::set<std::string>{workspaces.key_of(first["conversationId"].get<std::string>()),
                                      workspaces.key_of("brand-new"), workspaces.key_of("with-network")});
  pool.shutdown();
  executor.shutdown();
  std::error_code ignored;
  fs::remove_all(root, ignored);
  fs::remove_all(state, ignored);
  fs::remove_all(root.string() + "-grants", ignored);
}
