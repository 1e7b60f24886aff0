#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "core/encoding.hpp"
#include "core/random.hpp"
#include "mcp/resources.hpp"
#include "mcp/tool_methods.hpp"
#include "sandbox/conversation_index.hpp"
#include "sandbox/files.hpp"
#include "support/fake_engine.hpp"
#include "support/mounts.hpp"
#include "tools/active_conversations.hpp"
#include "tools/file_resources.hpp"
#include "tools/resource_uri.hpp"
#include "tools/tools.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

// Cases tagged [root] run only as root (conversation directories belong to uid 1000; quota volumes
// are loop-mounted) and are reported skipped otherwise.

namespace {

// The tools and the file resources over an in-memory engine, a real sandbox root and a real index.
struct ResourcesFixture {
  fs::path root = fs::temp_directory_path() / ("mcp-sandbox-resources-" + core::random_hex(6));
  testing::FakeEngine engine;
  runner::RunnerCatalog catalog;
  std::shared_ptr<std::int64_t> now = std::make_shared<std::int64_t>(1'800'000'000);
  std::shared_ptr<sandbox::ConversationIndex> index = open_index(root);
  sandbox::Workspaces workspaces;
  sandbox::UrlSigner signer{std::string(40, 's'), "http://files.test", std::chrono::seconds(60)};
  metrics::Metrics metrics;
  runner::Executor executor{engine, catalog, runner::ExecutorOptions{}};
  runner::Admission admission{runner::AdmissionLimits{}};
  tools::ResultLimits limits;
  tools::Services services{executor, admission, catalog, workspaces, signer, metrics, config::RunLimits{},
                           "http://files.test", limits};
  tools::ActiveConversations active;
  mcp::ResourceEvents events;
  std::unique_ptr<tools::FileResources> resources;
  mcp::ToolRegistry registry;
  std::vector<mcp::ResourceChange> changes;
  mcp::ResourceEvents::Subscription recording;

  explicit ResourcesFixture(sandbox::VolumeLimits quota = {})
      : workspaces(root, root.string(), std::string(40, 's'),
                   sandbox::WorkspaceOptions{quota, [n = now] { return *n; }, index}) {
    REQUIRE(workspaces.prepare_root());
    services.active = &active;
    services.resource_events = &events;
    services.result_limits.resource_page_size = 2;
    services.result_limits.resource_read_bytes = 64;
    resources = std::make_unique<tools::FileResources>(services, active, index.get());
    engine.add_runner("python", R"(["py"])");
    catalog.reset(*runner::Registry::discover(engine));
    tools::register_tools(registry, services);
    recording = events.subscribe([this](const mcp::ResourceChange& change) { changes.push_back(change); });
  }
  static std::shared_ptr<sandbox::ConversationIndex> open_index(const fs::path& root) {
    fs::create_directories(root);
    auto opened = sandbox::ConversationIndex::open(root / ".state", 100);
    REQUIRE(opened);
    return std::move(*opened);
  }
  ~ResourcesFixture() {
    recording.reset();
    *now += 3650L * 86400;
    sandbox::SweepPolicy policy;
    policy.ttl_seconds = 1;
    workspaces.sweep(policy);
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }

  json call(const std::string& caller, const std::string& name, const json& arguments,
            const char* version = "2025-11-25") {
    mcp::ToolCallScope scope;
    scope.revision = &mcp::revision(version);
    scope.caller = caller;
    auto result = mcp::call_tool(registry, json{{"name", name}, {"arguments", arguments}}, scope);
    REQUIRE(result);
    return *result;
  }
  json upload(const std::string& caller, const std::string& conversation, const std::string& path,
              const std::string& content) {
    return call(caller, "upload_file",
                {{"conversationId", conversation}, {"filename", path}, {"content", core::base64_encode(content)}});
  }
  static mcp::ResourceScope scope(const std::string& caller, const char* version = "2025-11-25") {
    return mcp::ResourceScope{&mcp::revision(version), caller, ""};
  }
  // Every URI resources/list gives `caller`, following the cursors.
  std::vector<std::string> listed(const std::string& caller) {
    std::vector<std::string> uris;
    std::string cursor;
    for (int page = 0; page < 100; ++page) {
      auto result = resources->list(scope(caller), cursor);
      REQUIRE(result);
      for (const auto& resource : (*result)["resources"]) uris.push_back(resource["uri"]);
      if (!result->contains("nextCursor")) return uris;
      cursor = (*result)["nextCursor"];
    }
    FAIL("resources/list never ended");
    return uris;
  }
  static std::vector<json> links(const json& result) {
    std::vector<json> found;
    for (const auto& block : result["content"]) {
      if (block["type"] == "resource_link") found.push_back(block);
    }
    return found;
  }
};

}  // namespace

TEST_CASE("resources: URIs name a conversation and a path, percent-encoded per folder") {
  CHECK(tools::resource_uri("conv-1", "out/a b.csv") == "sandbox://conversations/conv-1/out/a%20b.csv");
  CHECK(tools::resource_uri("me@x:1", "r\xC3\xA9sum\xC3\xA9.txt") ==
        "sandbox://conversations/me@x:1/r%C3%A9sum%C3%A9.txt");
  auto parsed = tools::parse_resource_uri("sandbox://conversations/me@x:1/out/a%20b.csv");
  REQUIRE(parsed);
  CHECK(parsed->conversation_id == "me@x:1");
  CHECK(parsed->path == "out/a b.csv");

  const auto refused = [](std::string_view uri) {
    auto result = tools::parse_resource_uri(uri);
    REQUIRE_FALSE(result);
    CHECK(result.error().kind == core::ErrorKind::invalid_argument);
    return result.error().message;
  };
  CHECK(refused("file:///etc/passwd").find("not a resource of this server") != std::string::npos);
  CHECK(refused("sandbox://conversations/c") == "path: the URI names a conversation but no file in it");
  CHECK(refused("sandbox://conversations/c/../x").rfind("path: ", 0) == 0);
  CHECK(refused("sandbox://conversations/c/%2E%2E/x").rfind("path: ", 0) == 0);  // escaped, still refused
  CHECK(refused("sandbox://conversations/c/a%2F..%2F..%2Fx").rfind("path: ", 0) == 0);
  CHECK(refused("sandbox://conversations/c/a%00b").rfind("path: ", 0) == 0);
  CHECK(refused("sandbox://conversations/c/%zz") == "the URI has a malformed %-escape");
  CHECK(refused("sandbox://conversations/c/x?y=1") == "a resource URI has no query or fragment");
  CHECK(refused("sandbox://conversations/bad%20id/x").find("conversationId") != std::string::npos);
}

TEST_CASE("resources: the active conversations are bounded, least recently used first out") {
  tools::ActiveConversations active(2);
  active.touch("k1", "one");
  active.touch("k2", "two");
  active.touch("k1", "one");  // k2 is now the oldest
  active.touch("k3", "three");
  CHECK(active.size() == 2);
  CHECK(active.id_for("k1") == "one");
  CHECK_FALSE(active.id_for("k2"));
  CHECK(active.id_for("k3") == "three");
}

TEST_CASE("resources: tools link the files they wrote, only where the revision has resource links", "[root]") {
  ResourcesFixture f;
  const json uploaded = f.upload("token:a", "c1", "data/in.csv", "a,b\n");
  const auto links = ResourcesFixture::links(uploaded);
  REQUIRE(links.size() == 1);
  CHECK(links[0]["uri"] == "sandbox://conversations/c1/data/in.csv");
  CHECK(links[0]["name"] == "data/in.csv");
  CHECK(links[0]["mimeType"] == "text/csv");
  CHECK(links[0]["size"] == 4);
  CHECK(links[0]["_meta"]["mcp-sandbox/downloadUrl"] == uploaded["structuredContent"]["file"]["url"]);
  CHECK(ResourcesFixture::links(f.call("token:a", "list_files", {{"conversationId", "c1"}})).size() == 1);
  for (const char* old : {"2024-11-05", "2025-03-26"}) {
    CAPTURE(old);
    const json before = f.call("token:a", "upload_file",
                               {{"conversationId", "c1"}, {"filename", "x.txt"}, {"content", "eA=="}}, old);
    CHECK(ResourcesFixture::links(before).empty());
    CHECK(before["content"].size() == 1);  // today's text, unchanged
  }
}

TEST_CASE("resources: uploads and deletes announce what changed, and whose list", "[root]") {
  ResourcesFixture f;
  f.upload("token:a", "c1", "a.txt", "1");
  f.upload("token:a", "c1", "a.txt", "2");  // overwritten: the same list
  f.call("token:a", "delete_file", {{"conversationId", "c1"}, {"path", "a.txt"}});
  REQUIRE(f.changes.size() == 3);
  for (const auto& change : f.changes) {
    CHECK(change.caller == "token:a");
    CHECK(change.updated == std::vector<std::string>{"sandbox://conversations/c1/a.txt"});
  }
  CHECK(f.changes[0].list_changed);
  CHECK_FALSE(f.changes[1].list_changed);
  CHECK(f.changes[2].list_changed);
}

TEST_CASE("resources: a caller's list has the files of the conversations it used, page by page", "[root]") {
  ResourcesFixture f;
  for (const char* name : {"a.txt", "b/c.txt", "d.png"}) f.upload("token:a", "mine", name, "x");
  f.upload("token:b", "theirs", "secret.txt", "x");
  const auto mine = f.listed("token:a");  // three files over two pages of two
  CHECK(mine == std::vector<std::string>{"sandbox://conversations/mine/a.txt", "sandbox://conversations/mine/b/c.txt",
                                         "sandbox://conversations/mine/d.png"});
  CHECK(f.listed("token:b") == std::vector<std::string>{"sandbox://conversations/theirs/secret.txt"});
  CHECK(f.listed("token:nobody").empty());
  CHECK(f.listed("").empty());

  const auto first = f.resources->list(ResourcesFixture::scope("token:a"), "");
  REQUIRE(first);
  const auto& entry = (*first)["resources"][0];
  CHECK(entry["name"] == "a.txt");
  CHECK(entry["size"] == 1);
  CHECK(entry["mimeType"] == "text/plain");
  CHECK(entry["description"] == "A file in /data of conversation mine");
  CHECK(entry["_meta"]["mcp-sandbox/downloadUrl"].get<std::string>().rfind("http://files.test/files/", 0) == 0);
  CHECK(entry["annotations"]["lastModified"].get<std::string>().size() == 20);
  const auto old = f.resources->list(ResourcesFixture::scope("token:a", "2025-03-26"), "");
  CHECK_FALSE((*old)["resources"][0].contains("_meta"));
  CHECK(f.resources->list(ResourcesFixture::scope("token:a"), "garbage!").error().code == -32602);
  // A page that ended at a file that is gone cannot go on.
  const std::string cursor = (*first)["nextCursor"];
  f.call("token:a", "delete_file", {{"conversationId", "mine"}, {"path", "b"}});
  CHECK(f.resources->list(ResourcesFixture::scope("token:a"), cursor).error().code == -32602);
}

TEST_CASE("resources: a conversation born in a pooled directory is listed and read like any other", "[root]") {
  ResourcesFixture f;
  auto pooled = f.workspaces.open_unbound();  // what a new-conversation container's /data is
  REQUIRE(pooled);
  const auto directory = pooled->name;
  REQUIRE(f.workspaces.adopt("born", *pooled));
  pooled = core::fail(core::ErrorKind::not_found, "released");
  const json uploaded = f.upload("token:a", "born", "a.txt", "pooled");
  const auto links = ResourcesFixture::links(uploaded);
  REQUIRE(links.size() == 1);
  // The download link names the directory it lives in, which is not its key's.
  CHECK(links[0]["_meta"]["mcp-sandbox/downloadUrl"].get<std::string>().find(directory) != std::string::npos);
  CHECK(directory != f.workspaces.key_of("born"));
  CHECK(f.listed("token:a") == std::vector<std::string>{"sandbox://conversations/born/a.txt"});
  CHECK(f.listed("token:b").empty());
  auto read = f.resources->read(ResourcesFixture::scope("token:b"), "sandbox://conversations/born/a.txt");
  REQUIRE(read);
  CHECK((*read)["contents"][0]["text"] == "pooled");
}

TEST_CASE("resources: listing never mounts an idle conversation's volume", "[root]") {
  ResourcesFixture f(sandbox::VolumeLimits{16 * 1024 * 1024, 100});
  f.upload("token:a", "idle", "kept.txt", "x");
  f.upload("token:a", "busy", "seen.txt", "x");
  fs::path mount_point;
  {
    auto idle = f.workspaces.find("idle", false);  // its lease goes with this scope
    REQUIRE(idle);
    mount_point = idle->server_path;
  }
  *f.now += 3600;
  sandbox::SweepPolicy unmount;
  unmount.unmount_idle_seconds = 60;
  f.upload("token:a", "busy", "seen.txt", "y");  // used now: stays mounted
  REQUIRE(f.workspaces.sweep(unmount).unmounted >= 1);
  REQUIRE(testing::mount_count(mount_point) == 0);

  CHECK(f.listed("token:a") == std::vector<std::string>{"sandbox://conversations/busy/seen.txt"});
  CHECK(testing::mount_count(mount_point) == 0);
  // Reading names the conversation, so it is opened like the tools open it.
  auto read = f.resources->read(ResourcesFixture::scope("token:a"), "sandbox://conversations/idle/kept.txt");
  REQUIRE(read);
  CHECK((*read)["contents"][0]["text"] == "x");
}

TEST_CASE("resources: read gives text or a blob, and refuses as the file tools refuse", "[root]") {
  ResourcesFixture f;
  f.upload("token:a", "c", "notes.md", "# hi\n");
  const std::string png("\x89PNG\r\n\x1a\n\0\0", 10);
  f.upload("token:a", "c", "p.png", png);
  f.upload("token:a", "c", "big.bin", std::string(65, 'x'));
  const auto scope = ResourcesFixture::scope("token:other");  // any caller may read a conversation it names

  auto text = f.resources->read(scope, "sandbox://conversations/c/notes.md");
  REQUIRE(text);
  CHECK((*text)["contents"][0] == json{{"uri", "sandbox://conversations/c/notes.md"},
                                       {"mimeType", "text/markdown"},
                                       {"text", "# hi\n"},
                                       {"_meta", (*text)["contents"][0]["_meta"]}});
  auto blob = f.resources->read(scope, "sandbox://conversations/c/p.png");
  REQUIRE(blob);
  CHECK(core::base64_decode((*blob)["contents"][0]["blob"].get<std::string>()) == std::optional<std::string>(png));

  auto big = f.resources->read(scope, "sandbox://conversations/c/big.bin");
  REQUIRE_FALSE(big);
  CHECK(big.error().code == -32602);
  CHECK(big.error().message.find("65 bytes, more than resources/read returns (64 bytes)") != std::string::npos);
  CHECK(big.error().message.find("http://files.test/files/") != std::string::npos);
  CHECK(big.error().data["size"] == 65);

  // What a program can leave in /data: links out, a link to a folder, a FIFO, a folder.
  auto workspace = f.workspaces.find("c", true);
  REQUIRE(workspace);
  REQUIRE(::symlink("/etc/passwd", (workspace->server_path / "link").c_str()) == 0);
  REQUIRE(::symlink("/", (workspace->server_path / "root").c_str()) == 0);
  REQUIRE(::mkfifo((workspace->server_path / "fifo").c_str(), 0644) == 0);
  fs::create_directories(workspace->server_path / "folder");
  for (const std::string path : {"link", "root/etc/passwd", "fifo", "folder", "../x", "a//b"}) {
    CAPTURE(path);
    const json tool = f.call("token:a", "read_file", {{"conversationId", "c"}, {"path", path}});
    REQUIRE(tool["isError"] == true);
    const std::string said = tool["content"][0]["text"];
    auto read = f.resources->read(scope, "sandbox://conversations/c/" + path);
    REQUIRE_FALSE(read);
    CHECK(read.error().code == -32602);
    CHECK(read.error().message == "Invalid params: " + said);
  }
  auto missing = f.resources->read(scope, "sandbox://conversations/c/none.txt");
  CHECK(missing.error().code == -32002);
  auto nowhere = f.resources->read(scope, "sandbox://conversations/never-used/x.txt");
  CHECK(nowhere.error().code == -32002);
  CHECK_FALSE(f.workspaces.find("never-used", true));  // reading created nothing
}

TEST_CASE("resources: the template and URI checks") {
  ResourcesFixture f;
  const auto templates = f.resources->templates(mcp::revision("2025-11-25"));
  REQUIRE(templates.size() == 1);
  CHECK(templates[0]["uriTemplate"] == "sandbox://conversations/{conversationId}/{+path}");
  CHECK(templates[0]["title"] == "A conversation's file");
  CHECK_FALSE(f.resources->templates(mcp::revision("2024-11-05"))[0].contains("title"));
  CHECK(f.resources->check_uri("sandbox://conversations/c/a.txt").empty());
  CHECK_FALSE(f.resources->check_uri("https://example.invalid/a").empty());
}
