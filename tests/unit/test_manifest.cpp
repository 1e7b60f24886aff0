#include <catch2/catch.hpp>

#include "runner/manifest.hpp"
#include "runner/registry.hpp"
#include "support/fake_engine.hpp"

TEST_CASE("manifest: a complete manifest parses") {
  auto manifest = runner::parse_manifest(R"({
    "language": "python", "aliases": ["py", "python3"], "image": "mcp-sandbox/runner-python:latest",
    "file": "main.py", "command": ["python3", "/tmp/main.py"], "version": ["python3", "--version"]})");
  REQUIRE(manifest);
  CHECK(manifest->language == "python");
  CHECK(manifest->aliases == std::vector<std::string>{"py", "python3"});
  CHECK(manifest->file == "main.py");
  CHECK(manifest->command == std::vector<std::string>{"python3", "/tmp/main.py"});
  CHECK(manifest->answers_to("PY"));
  CHECK(manifest->answers_to("Python"));
  CHECK_FALSE(manifest->answers_to("pyt"));
}

TEST_CASE("manifest: aliases are optional") {
  auto manifest = runner::parse_manifest(
      R"({"language":"bash","image":"x:1","file":"main.sh","command":["bash","/tmp/main.sh"],"version":["bash","--version"]})");
  REQUIRE(manifest);
  CHECK(manifest->aliases.empty());
}

TEST_CASE("manifest: a packages section names the installer, its argv and the runs' environment") {
  const std::string head =
      R"({"language":"python","image":"x:1","file":"main.py","command":["python3","/tmp/main.py"],"version":["python3","-V"])";
  auto manifest = runner::parse_manifest(
      head + R"(,"packages":{"installer":"pip","install":["python3","-m","pip","install"],)"
             R"("environment":{"PYTHONPATH":"/data:/data/.packages/python"}}})");
  REQUIRE(manifest);
  CHECK(manifest->packages.present());
  CHECK(manifest->packages.installer == "pip");
  CHECK(manifest->packages.install == std::vector<std::string>{"python3", "-m", "pip", "install"});
  CHECK(manifest->packages.environment.at("PYTHONPATH") == "/data:/data/.packages/python");
  CHECK_FALSE(runner::parse_manifest(head + "}")->packages.present());

  struct Case {
    const char* packages;
    const char* problem;
  };
  for (const auto& c : {Case{R"("pip")", "'packages' must be an object"},
                        Case{R"({"installer":"apt","install":["apt-get"]})", "'packages.installer' must be \"pip\" or \"npm\""},
                        Case{R"({"installer":"npm","install":[]})", "'install' must be a non-empty array"},
                        Case{R"({"installer":"npm","install":["npm"],"environment":{"A":1}})",
                             "'packages.environment' must be an object of strings"},
                        Case{R"({"installer":"npm","install":["npm"],"cache":"/tmp"})", "'packages' has an unknown key 'cache'"}}) {
    CAPTURE(c.packages);
    auto refused = runner::parse_manifest(head + R"(,"packages":)" + c.packages + "}");
    REQUIRE_FALSE(refused);
    CHECK(refused.error().message.find(c.problem) != std::string::npos);
  }
}

TEST_CASE("manifest: every problem is named") {
  struct Case {
    const char* json;
    const char* expected;
  };
  const Case cases[] = {
      {"not json", "not a JSON object"},
      {"[1,2]", "not a JSON object"},
      {R"({})", "'language' must be a non-empty string"},
      {R"({"language":"x","image":"i","file":"f","command":[],"version":["v"]})", "'command' must be a non-empty array"},
      {R"({"language":"x","image":"i","file":"f","command":["a",1],"version":["v"]})", "'command' must be"},
      {R"({"language":"x","image":"i","file":"../etc/passwd","command":["a"],"version":["v"]})", "plain file name"},
      {R"({"language":"x","image":"i","file":"f","command":["a"]})", "'version' is missing"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"aliases":"py"})", "'aliases' must be an array"},
      {R"({"language":7,"image":"i","file":"f","command":["a"],"version":["v"]})", "'language' must be a non-empty string"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    auto manifest = runner::parse_manifest(c.json);
    REQUIRE_FALSE(manifest);
    CHECK(manifest.error().kind == core::ErrorKind::invalid_argument);
    CHECK(manifest.error().message.find(c.expected) != std::string::npos);
  }
}

TEST_CASE("registry: runners come from image labels; broken manifests are reported, untagged builds ignored") {
  testing::FakeEngine engine;
  engine.add_runner("python", R"(["py"])");
  engine.add_runner("bash");
  docker::ImageSummary broken;
  broken.id = "sha256:broken000000000000000";
  broken.repo_tags = {"mcp-sandbox/runner-broken:latest"};
  broken.labels = {{"io.mcp-sandbox.kind", "runner"}, {"io.mcp-sandbox.manifest", "{"}};
  engine.images.push_back(broken);
  auto stale = engine.images[0];
  stale.id = "sha256:stale";
  stale.repo_tags.clear();  // an older build whose tag moved on
  engine.images.push_back(stale);

  auto registry = runner::Registry::discover(engine);
  REQUIRE(registry);
  REQUIRE(registry->runners().size() == 2);
  CHECK(registry->language_list() == "bash, python");
  CHECK(registry->find("py")->image_id == "sha256:python");
  CHECK(registry->find("py")->version == "python 1.0");
  CHECK(registry->find("ruby") == nullptr);
  REQUIRE(registry->problems().size() == 1);
  CHECK(registry->problems()[0].find("not a JSON object") != std::string::npos);
}

TEST_CASE("registry: an engine failure is passed on with context") {
  testing::FakeEngine engine;
  engine.failures["list_images"] = core::Error{core::ErrorKind::unavailable, "Docker engine unreachable"};
  auto registry = runner::Registry::discover(engine);
  REQUIRE_FALSE(registry);
  CHECK(registry.error().kind == core::ErrorKind::unavailable);
  CHECK(registry.error().message == "listing runner images: Docker engine unreachable");
}

TEST_CASE("manifest: a compiled language has a compile argv and may ask for limits") {
  auto manifest = runner::parse_manifest(R"({
    "language": "rust", "aliases": ["rs"], "image": "mcp-sandbox/runner-rust:latest", "file": "main.rs",
    "compile": ["rustc", "-o", "/build/main", "/tmp/main.rs"], "command": ["/build/main"],
    "version": ["rustc", "--version"], "limits": {"memory_mb": 512, "cpus": 1, "timeout_seconds": 45}})");
  REQUIRE(manifest);
  CHECK(manifest->compiles());
  CHECK(manifest->compile == std::vector<std::string>{"rustc", "-o", "/build/main", "/tmp/main.rs"});
  CHECK(manifest->limits.memory_mb == 512);
  CHECK(manifest->limits.cpus == 1.0);
  CHECK(manifest->limits.timeout_seconds == 45);

  auto interpreted = runner::parse_manifest(
      R"({"language":"bash","image":"x:1","file":"main.sh","command":["bash","/tmp/main.sh"],"version":["bash"]})");
  REQUIRE(interpreted);
  CHECK_FALSE(interpreted->compiles());
  CHECK(interpreted->limits.empty());
}

TEST_CASE("manifest: bad compile argv and limits are named") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"compile":[]})", "'compile' must be"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"compile":"cc f"})", "'compile' must be"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"limits":[]})", "'limits' must be an object"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"limits":{"memory_mb":0}})",
       "'limits.memory_mb' must be a positive integer"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"limits":{"cpus":"1"}})",
       "'limits.cpus' must be a positive number"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"limits":{"timeout_seconds":1.5}})",
       "'limits.timeout_seconds' must be a positive integer"},
      {R"({"language":"x","image":"i","file":"f","command":["a"],"version":["v"],"limits":{"pids":9}})",
       "unknown key 'pids'"},
  };
  for (const auto& [text, expected] : cases) {
    CAPTURE(text);
    auto manifest = runner::parse_manifest(text);
    REQUIRE_FALSE(manifest);
    CHECK(manifest.error().message.find(expected) != std::string::npos);
  }
}
