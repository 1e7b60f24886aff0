#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "docker/engine_json.hpp"

namespace json_api = docker::engine_json;
using core::ErrorKind;
using nlohmann::json;

// Answers captured from Debian's docker.io 20.10.24 (API 1.41) with curl --unix-socket; long ones trimmed
// to the fields we read and their neighbours.
namespace {

constexpr const char* kVersion =
    R"json({"Platform":{"Name":""},"Components":[{"Name":"Engine","Version":"20.10.24+dfsg1","Details":{"ApiVersion":"1.41","Arch":"amd64","MinAPIVersion":"1.12","Os":"linux"}},{"Name":"runc","Version":"1.1.5+ds1","Details":{"GitCommit":"1.1.5+ds1-1+deb12u1"}}],"Version":"20.10.24+dfsg1","ApiVersion":"1.41","MinAPIVersion":"1.12","GitCommit":"5d6db84","GoVersion":"go1.19.8","Os":"linux","Arch":"amd64","KernelVersion":"6.18.44-fc-v657","BuildTime":"2026-05-07T21:09:36.000000000+00:00"})json";

constexpr const char* kInfo =
    R"json({"ID":"MKU3:U3RY:7DCS:D64C:W5LD:VZDB:DOLA:2JIF:Y3S6:VKSU:PNC7:IP2G","Containers":0,"Images":1,"Driver":"overlay2","MemoryLimit":true,"SwapLimit":true,"PidsLimit":true,"LoggingDriver":"json-file","CgroupDriver":"cgroupfs","CgroupVersion":"1","KernelVersion":"6.18.44-fc-v657","OperatingSystem":"Debian GNU/Linux 12 (bookworm)","OSType":"linux","Architecture":"x86_64","NCPU":2,"MemTotal":25276510208,"GenericResources":null,"Name":"vm","Labels":[],"ServerVersion":"20.10.24+dfsg1","Runtimes":{"io.containerd.runc.v2":{"path":"runc"},"io.containerd.runtime.v1.linux":{"path":"runc"},"runc":{"path":"runc"}},"DefaultRuntime":"runc","SecurityOptions":["name=seccomp,profile=default"],"Warnings":null})json";

constexpr const char* kImageList =
    R"json([{"Containers":-1,"Created":1795305912,"Id":"sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8","Labels":null,"ParentId":"","RepoDigests":null,"RepoTags":["mcp-sandbox/base:probe"],"SharedSize":-1,"Size":164047917,"VirtualSize":164047917},)json"
    R"json({"Containers":-1,"Created":1795306000,"Id":"sha256:0123","Labels":{"io.mcp-sandbox.kind":"runner","io.mcp-sandbox.language":"python"},"ParentId":"","RepoDigests":[],"RepoTags":["mcp-sandbox/python:3.11","mcp-sandbox/python:latest"],"SharedSize":-1,"Size":42,"VirtualSize":42}])json";

constexpr const char* kImageInspect =
    R"json({"Id":"sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8","RepoTags":["mcp-sandbox/base:probe"],"RepoDigests":[],"Parent":"","Comment":"Imported from -","Created":"2026-11-22T00:05:12.963247926Z","Container":"","ContainerConfig":{"Labels":null},"DockerVersion":"20.10.24+dfsg1","Author":"","Config":{"Hostname":"","User":"","Env":null,"Cmd":null,"Image":"","WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":null},"Architecture":"amd64","Os":"linux","Size":164047917,"VirtualSize":164047917})json";

constexpr const char* kContainerList =
    R"json([{"Id":"9671a988f4c5549f460663a0a0605a17363cd002917b7d2cc5f25e0047569d94","Names":["/capt1"],"Image":"mcp-sandbox/base:probe","ImageID":"sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8","Command":"sh -c 'exit 3'","Created":1795305958,"Ports":[],"Labels":{"io.mcp-sandbox.kind":"runner"},"State":"created","Status":"Created","HostConfig":{"NetworkMode":"none"},"NetworkSettings":{"Networks":{}},"Mounts":[]}])json";

constexpr const char* kContainerInspect =
    R"json({"Id":"9671a988f4c5549f460663a0a0605a17363cd002917b7d2cc5f25e0047569d94","Created":"2026-11-22T00:05:58.584526223Z","Path":"sh","Args":["-c","exit 3"],"State":{"Status":"exited","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":3,"Error":"","StartedAt":"2026-11-22T00:05:58.862324178Z","FinishedAt":"2026-11-22T00:05:58.866846076Z"},"Image":"sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8","Name":"/capt1","RestartCount":0,"Driver":"overlay2","Platform":"linux","Config":{"Hostname":"9671a988f4c5","User":"","Env":null,"Cmd":["sh","-c","exit 3"],"Image":"mcp-sandbox/base:probe","WorkingDir":"","Labels":{"io.mcp-sandbox.kind":"runner"},"NetworkDisabled":true}})json";

docker::ContainerSpec full_spec() {
  return docker::ContainerSpec{
      .name = "run-1",
      .image = "mcp-sandbox/python:3.11",
      .cmd = {"python3", "-"},
      .env = {"SECRET=value"},
      .user = "1000:1000",
      .working_dir = "/data",
      .labels = {{"io.mcp-sandbox.kind", "run"}},
      .open_stdin = true,
      .network_disabled = true,
      .nano_cpus = 500000000,
      .memory_bytes = 256 << 20,
      .memory_swap_bytes = 256 << 20,
      .pids_limit = 64,
      .network_mode = "none",
      .dns = {"127.0.0.1"},
      .cap_drop = {"ALL"},
      .security_opt = {"no-new-privileges"},
      .readonly_rootfs = true,
      .tmpfs = {{"/tmp", "rw,size=16m"}},
      .binds = {"/srv/sandbox/abc:/data:rw"},
      .ulimits = {{"nofile", 256, 512}},
      .log_driver = "json-file",
      .log_options = {{"max-size", "1m"}},
      .runtime = "runsc",
      .init = true,
  };
}

}  // namespace

TEST_CASE("create body carries every field of a full spec") {
  const json body = json::parse(json_api::create_container_body(full_spec()));
  CHECK(body["Image"] == "mcp-sandbox/python:3.11");
  CHECK(body["Cmd"] == json::array({"python3", "-"}));
  CHECK(body["Env"] == json::array({"SECRET=value"}));
  CHECK(body["User"] == "1000:1000");
  CHECK(body["WorkingDir"] == "/data");
  CHECK(body["Labels"] == json{{"io.mcp-sandbox.kind", "run"}});
  CHECK(body["OpenStdin"] == true);
  CHECK(body["StdinOnce"] == true);
  CHECK(body["AttachStdin"] == true);
  CHECK(body["AttachStdout"] == true);
  CHECK(body["AttachStderr"] == true);
  CHECK(body["Tty"] == false);
  CHECK(body["NetworkDisabled"] == true);
  CHECK_FALSE(body.contains("name"));
  CHECK_FALSE(body.contains("Name"));

  const json& host = body["HostConfig"];
  CHECK(host["NanoCpus"] == 500000000);
  CHECK(host["Memory"] == 256 << 20);
  CHECK(host["MemorySwap"] == 256 << 20);
  CHECK(host["PidsLimit"] == 64);
  CHECK(host["NetworkMode"] == "none");
  CHECK(host["Dns"] == json::array({"127.0.0.1"}));
  CHECK(host["CapDrop"] == json::array({"ALL"}));
  CHECK(host["SecurityOpt"] == json::array({"no-new-privileges"}));
  CHECK(host["ReadonlyRootfs"] == true);
  CHECK(host["Tmpfs"] == json{{"/tmp", "rw,size=16m"}});
  CHECK(host["Binds"] == json::array({"/srv/sandbox/abc:/data:rw"}));
  CHECK(host["Ulimits"] == json::parse(R"([{"Name":"nofile","Soft":256,"Hard":512}])"));
  CHECK(host["LogConfig"] == json::parse(R"({"Type":"json-file","Config":{"max-size":"1m"}})"));
  CHECK(host["Runtime"] == "runsc");
  CHECK(host["Init"] == true);
}

TEST_CASE("create body leaves out what is empty so the engine's defaults apply") {
  docker::ContainerSpec spec;
  spec.image = "img";
  spec.network_disabled = false;
  spec.network_mode.clear();
  const json body = json::parse(json_api::create_container_body(spec));
  for (const char* key : {"Cmd", "Env", "User", "WorkingDir", "Labels", "NetworkDisabled"}) {
    CAPTURE(key);
    CHECK_FALSE(body.contains(key));
  }
  CHECK(body["OpenStdin"] == false);
  CHECK(body["HostConfig"] == json::object());
}

TEST_CASE("create body: log options without a driver keep the engine's driver") {
  docker::ContainerSpec spec;
  spec.image = "img";
  spec.log_options = {{"max-size", "1m"}};
  const json body = json::parse(json_api::create_container_body(spec));
  CHECK(body["HostConfig"]["LogConfig"] == json::parse(R"({"Config":{"max-size":"1m"}})"));
  CHECK(body["HostConfig"]["NetworkMode"] == "none");
  CHECK(body["NetworkDisabled"] == true);
}

TEST_CASE("label filter is the engine's filters JSON") {
  CHECK(json::parse(json_api::label_filter("io.mcp-sandbox.kind=runner")) ==
        json::parse(R"({"label":["io.mcp-sandbox.kind=runner"]})"));
}

TEST_CASE("error message from the engine's error bodies") {
  CHECK(json_api::error_message(R"({"message":"No such image: nope:latest"})") == "No such image: nope:latest");
  // Captured: a hijacked endpoint's 404 and a version refusal come as plain text.
  CHECK(json_api::error_message("No such container: nosuch\r\n") == "No such container: nosuch");
  CHECK(json_api::error_message("client version 1.5 is too old. Minimum supported API version is 1.12\n") ==
        "client version 1.5 is too old. Minimum supported API version is 1.12");
  CHECK(json_api::error_message("").empty());
  CHECK(json_api::error_message(" \r\n").empty());
  CHECK(json_api::error_message(R"({"other":1})") == R"({"other":1})");
  CHECK(json_api::error_message(std::string(5000, 'x')).size() == 1024);
}

TEST_CASE("version from GET /version") {
  const auto version = json_api::parse_version(kVersion);
  REQUIRE(version);
  CHECK(version->version == "20.10.24+dfsg1");
  CHECK(version->api_version == "1.41");
  CHECK(version->min_api_version == "1.12");
  CHECK(version->os == "linux");
  CHECK(version->arch == "amd64");
}

TEST_CASE("info from GET /info") {
  const auto info = json_api::parse_info(kInfo);
  REQUIRE(info);
  CHECK(info->server_version == "20.10.24+dfsg1");
  CHECK(info->cgroup_version == "1");
  CHECK(info->default_runtime == "runc");
  CHECK(info->runtimes == std::vector<std::string>{"io.containerd.runc.v2", "io.containerd.runtime.v1.linux", "runc"});
  CHECK(info->ncpu == 2);
  CHECK(info->mem_total == 25276510208);
}

TEST_CASE("info from an old engine without CgroupVersion or Runtimes") {
  const auto info = json_api::parse_info(R"({"ServerVersion":"18.09.1","NCPU":4,"MemTotal":1024,"Runtimes":null})");
  REQUIRE(info);
  CHECK(info->cgroup_version.empty());
  CHECK(info->runtimes.empty());
  CHECK(info->ncpu == 4);
}

TEST_CASE("image list from GET /images/json") {
  const auto images = json_api::parse_image_list(kImageList);
  REQUIRE(images);
  REQUIRE(images->size() == 2);
  const auto& base = (*images)[0];
  CHECK(base.id == "sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8");
  CHECK(base.repo_tags == std::vector<std::string>{"mcp-sandbox/base:probe"});
  CHECK(base.labels.empty());
  CHECK(base.created == 1795305912);
  CHECK(base.size == 164047917);
  const auto& python = (*images)[1];
  CHECK(python.labels.at("io.mcp-sandbox.language") == "python");
  CHECK(python.repo_tags.size() == 2);
}

TEST_CASE("image list: an untagged image and an empty list") {
  const auto images = json_api::parse_image_list(R"([{"Id":"sha256:1","RepoTags":null,"Created":1}])");
  REQUIRE(images);
  CHECK((*images)[0].repo_tags.empty());
  CHECK(json_api::parse_image_list("[]").value().empty());
}

TEST_CASE("image inspect from GET /images/{name}/json") {
  const auto image = json_api::parse_image_inspect(kImageInspect);
  REQUIRE(image);
  CHECK(image->id == "sha256:5b0b22ad8a7f67016843c334dbc8f8432ccf65297dbcf6691db3aa1087b883e8");
  CHECK(image->repo_tags == std::vector<std::string>{"mcp-sandbox/base:probe"});
  CHECK(image->labels.empty());
  CHECK(image->created == 1795305912);  // 2026-11-22T00:05:12Z
  CHECK(image->size == 164047917);
}

TEST_CASE("image inspect: labels under Config, Created left out by newer engines") {
  const auto image = json_api::parse_image_inspect(
      R"({"Id":"sha256:2","RepoTags":["a:b"],"Config":{"Labels":{"io.mcp-sandbox.kind":"runner"}},"Size":7})");
  REQUIRE(image);
  CHECK(image->labels.at("io.mcp-sandbox.kind") == "runner");
  CHECK(image->created == 0);
}

TEST_CASE("container list from GET /containers/json") {
  const auto containers = json_api::parse_container_list(kContainerList);
  REQUIRE(containers);
  REQUIRE(containers->size() == 1);
  const auto& container = containers->front();
  CHECK(container.id == "9671a988f4c5549f460663a0a0605a17363cd002917b7d2cc5f25e0047569d94");
  CHECK(container.names == std::vector<std::string>{"/capt1"});
  CHECK(container.image == "mcp-sandbox/base:probe");
  CHECK(container.state == "created");
  CHECK(container.labels.at("io.mcp-sandbox.kind") == "runner");
  CHECK(container.created == 1795305958);
  CHECK(container.networks.empty());
  // The networks a container is on, by name (how the executor finds the egress proxy).
  const auto attached = json_api::parse_container_list(
      R"json([{"Id":"p","Names":["/proxy"],"State":"running","Labels":{},"Created":1,)json"
      R"json("NetworkSettings":{"Networks":{"mcp-sandbox-egress":{"IPAddress":"172.20.0.2"},"egress-out":{}}}}])json");
  REQUIRE(attached);
  REQUIRE(attached->size() == 1);
  CHECK(attached->front().networks == std::vector<std::string>{"egress-out", "mcp-sandbox-egress"});
}

TEST_CASE("container state from GET /containers/{id}/json") {
  const auto state = json_api::parse_container_state(kContainerInspect);
  REQUIRE(state);
  CHECK(state->status == "exited");
  CHECK_FALSE(state->running);
  CHECK_FALSE(state->oom_killed);
  CHECK(state->exit_code == 3);
  CHECK(state->error.empty());

  const auto oom = json_api::parse_container_state(
      R"({"State":{"Status":"exited","Running":false,"OOMKilled":true,"ExitCode":137,"Error":null}})");
  REQUIRE(oom);
  CHECK(oom->oom_killed);
  CHECK(oom->exit_code == 137);
}

TEST_CASE("wait result from POST /containers/{id}/wait") {
  const auto exited = json_api::parse_wait(R"({"Error":null,"StatusCode":3})");
  REQUIRE(exited);
  CHECK(exited->status_code == 3);
  CHECK(exited->error.empty());

  const auto failed = json_api::parse_wait(R"({"Error":{"Message":"container rm failed"},"StatusCode":-1})");
  REQUIRE(failed);
  CHECK(failed->status_code == -1);
  CHECK(failed->error == "container rm failed");
}

TEST_CASE("created id from POST /containers/create") {
  CHECK(json_api::parse_created_id(R"({"Id":"9671a988f4c5","Warnings":[]})").value() == "9671a988f4c5");
  const auto missing = json_api::parse_created_id(R"({"Warnings":null})");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::internal);
}

TEST_CASE("answers that are not what the API documents are internal errors naming the endpoint") {
  const auto not_json = json_api::parse_version("<html>");
  REQUIRE_FALSE(not_json);
  CHECK(not_json.error().kind == ErrorKind::internal);
  CHECK_THAT(not_json.error().message, Catch::Contains("GET /version"));

  CHECK_FALSE(json_api::parse_image_list(R"({"not":"a list"})"));
  CHECK_FALSE(json_api::parse_container_list("[1]"));
  CHECK_FALSE(json_api::parse_container_state(R"({"Id":"x"})"));
  CHECK_FALSE(json_api::parse_info(R"({"NCPU":"two"})"));
  CHECK_FALSE(json_api::parse_image_inspect(R"({"Created":"yesterday"})"));
}

TEST_CASE("RFC 3339 times as the engine writes them") {
  CHECK(json_api::parse_rfc3339("1970-01-01T00:00:00Z").value() == 0);
  CHECK(json_api::parse_rfc3339("2026-11-22T00:05:12.963247926Z").value() == 1795305912);
  CHECK(json_api::parse_rfc3339("2026-11-22T01:05:12+01:00").value() == 1795305912);
  CHECK(json_api::parse_rfc3339("2026-11-21T23:05:12.5-01:00").value() == 1795305912);
  CHECK(json_api::parse_rfc3339("0001-01-01T00:00:00Z").value() == -62135596800);
  for (const char* bad : {"", "2026-11-22", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-22T00:05:12",
                          "2026-11-22T00:05:12Zjunk", "2026-11-22T-1:05:12Z"}) {
    CAPTURE(bad);
    const auto parsed = json_api::parse_rfc3339(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.error().kind == ErrorKind::invalid_argument);
  }
}

// Captured from Docker 20.10 (cgroup v1) for a runsc container limited to 256 MiB, 0.5 CPU and 128 pids
// (blkio and most memory counters trimmed).
constexpr const char* kStatsV1Runsc =
    R"json({"read":"2026-12-05T06:01:50.668236894Z","preread":"0001-01-01T00:00:00Z","pids_stats":{"current":44,"limit":128},"blkio_stats":{},"num_procs":0,"storage_stats":{},"cpu_stats":{"cpu_usage":{"total_usage":935477098,"percpu_usage":[538882157,396594941],"usage_in_kernelmode":280000000,"usage_in_usermode":650000000},"system_cpu_usage":760860000000,"online_cpus":2,"throttling_data":{"periods":24,"throttled_periods":13,"throttled_time":489450159}},"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},"memory_stats":{"usage":13291520,"max_usage":15917056,"stats":{"cache":221184,"hierarchical_memory_limit":268435456,"rss":10907648},"limit":268435456},"name":"/blissful_payne","id":"611332c26feb758c6e4538e3e379cdfdb719202e2c6ecdc3177d4028d6b803dd"})json";

// The cgroup v2 shape (Docker 20.10+ on a unified host): no percpu_usage or
// max_usage, memory counters named after memory.stat; the limits and the
// throttling counters sit where v1 has them.
constexpr const char* kStatsV2 =
    R"json({"read":"2026-12-05T06:10:00.000000000Z","pids_stats":{"current":3,"limit":128},"cpu_stats":{"cpu_usage":{"total_usage":412000000,"usage_in_kernelmode":90000000,"usage_in_usermode":322000000},"system_cpu_usage":98000000000,"online_cpus":2,"throttling_data":{"periods":9,"throttled_periods":4,"throttled_time":210000000}},"precpu_stats":{"cpu_usage":{"total_usage":0}},"memory_stats":{"usage":2211840,"stats":{"anon":1081344,"file":663552,"kernel_stack":49152,"pgfault":1188},"limit":268435456}})json";

TEST_CASE("container stats from GET /containers/{id}/stats: cgroup v1 under runsc") {
  const auto stats = json_api::parse_container_stats(kStatsV1Runsc);
  REQUIRE(stats);
  CHECK(stats->memory_limit == 268435456);
  CHECK(stats->memory_usage == 13291520);
  CHECK(stats->pids_limit == 128);
  CHECK(stats->pids_current == 44);
  CHECK(stats->cpu_total_ns == 935477098);
  CHECK(stats->cpu_periods == 24);
  CHECK(stats->cpu_throttled_periods == 13);
}

TEST_CASE("container stats: cgroup v2 answers map to the same fields") {
  const auto stats = json_api::parse_container_stats(kStatsV2);
  REQUIRE(stats);
  CHECK(stats->memory_limit == 268435456);
  CHECK(stats->memory_usage == 2211840);
  CHECK(stats->pids_limit == 128);
  CHECK(stats->pids_current == 3);
  CHECK(stats->cpu_periods == 9);
  CHECK(stats->cpu_throttled_periods == 4);
}

TEST_CASE("container stats: limits the engine leaves out or zeroes are absent, not zero") {
  // pids.max "max" has no limit field; an engine without the memory controller sends 0.
  const auto unlimited = json_api::parse_container_stats(
      R"({"pids_stats":{"current":2},"memory_stats":{"usage":100,"limit":0},"cpu_stats":{"cpu_usage":{"total_usage":5}}})");
  REQUIRE(unlimited);
  CHECK_FALSE(unlimited->pids_limit.has_value());
  CHECK_FALSE(unlimited->memory_limit.has_value());
  CHECK(unlimited->cpu_periods == 0);
  // A stopped container's stats are all empty objects.
  const auto stopped = json_api::parse_container_stats(R"({"pids_stats":{},"memory_stats":{},"cpu_stats":{}})");
  REQUIRE(stopped);
  CHECK_FALSE(stopped->memory_limit.has_value());
  CHECK(stopped->pids_current == 0);
  CHECK_FALSE(json_api::parse_container_stats(R"({"memory_stats":{"limit":"lots"}})"));
  CHECK_FALSE(json_api::parse_container_stats("[]"));
}

// Captured (trimmed to the parts we read) from Docker 20.10 for a running runsc container.
constexpr const char* kInspectRunsc =
    R"json({"Id":"611332c26feb758c6e4538e3e379cdfdb719202e2c6ecdc3177d4028d6b803dd","State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":11663,"ExitCode":0,"Error":"","StartedAt":"2026-12-05T06:01:48.590633601Z","FinishedAt":"0001-01-01T00:00:00Z"},"HostConfig":{"Runtime":"runsc","Memory":268435456,"MemorySwap":268435456,"NanoCpus":500000000,"PidsLimit":128,"ReadonlyRootfs":true,"NetworkMode":"none","CpuQuota":0,"CpuPeriod":0},"Config":{"User":"1000","NetworkDisabled":true,"Image":"probe:tiny"}})json";

TEST_CASE("container inspect carries the limits the engine applied") {
  const auto state = json_api::parse_container_state(kInspectRunsc);
  REQUIRE(state);
  CHECK(state->running);
  CHECK(state->runtime == "runsc");
  CHECK(state->limits.memory_bytes == 268435456);
  CHECK(state->limits.memory_swap_bytes == 268435456);
  CHECK(state->limits.nano_cpus == 500000000);
  CHECK(state->limits.pids_limit == 128);
  CHECK(state->limits.readonly_rootfs);
  CHECK(state->limits.network_mode == "none");
  CHECK(state->limits.network_disabled);
  CHECK(state->limits.user == "1000");
  // Engines null what was never set: no limits, not an error.
  const auto bare = json_api::parse_container_state(
      R"({"State":{"Status":"created"},"HostConfig":{"Memory":0,"PidsLimit":null,"NetworkMode":"default"},"Config":{"User":""}})");
  REQUIRE(bare);
  CHECK(bare->limits.memory_bytes == 0);
  CHECK(bare->limits.pids_limit == 0);
  CHECK_FALSE(bare->limits.readonly_rootfs);
}
