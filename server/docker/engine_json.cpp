#include "docker/engine_json.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace docker::engine_json {

namespace {

using core::ErrorKind;
using nlohmann::json;

// Thrown inside a mapping for an answer that is JSON but not what the API documents.
class BadAnswer : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One place turns any surprise in an engine answer into an `internal` error, so the mappings can stay linear.
template <typename Map>
auto parse_body(std::string_view body, std::string_view what, Map&& map) -> core::Result<decltype(map(json{}))> {
  try {
    return map(json::parse(body));
  } catch (const json::exception& e) {
    return core::fail(ErrorKind::internal, "unexpected Docker engine answer to " + std::string(what) + ": " + e.what());
  } catch (const BadAnswer& e) {
    return core::fail(ErrorKind::internal, "unexpected Docker engine answer to " + std::string(what) + ": " + e.what());
  }
}

const json& expect_object(const json& j) {
  if (!j.is_object()) {
    throw BadAnswer("expected a JSON object, got " + std::string(j.type_name()));
  }
  return j;
}

// Missing and null both mean "the engine has nothing to say": the type's default.
template <typename T>
T field(const json& j, const std::string& key) {
  const auto it = expect_object(j).find(key);
  if (it == j.end() || it->is_null()) {
    return T{};
  }
  return it->template get<T>();
}

const json& child(const json& j, const std::string& key) {
  static const json kNull;
  const auto it = expect_object(j).find(key);
  return it == j.end() ? kNull : *it;
}

template <typename T, typename MapEntry>
std::vector<T> map_array(const json& j, MapEntry&& map_entry) {
  if (j.is_null()) {
    return {};
  }
  if (!j.is_array()) {
    throw BadAnswer("expected a JSON array, got " + std::string(j.type_name()));
  }
  std::vector<T> out;
  out.reserve(j.size());
  for (const auto& entry : j) {
    out.push_back(map_entry(entry));
  }
  return out;
}

ImageSummary image_from_list_entry(const json& j) {
  ImageSummary image;
  image.id = field<std::string>(j, "Id");
  image.repo_tags = field<std::vector<std::string>>(j, "RepoTags");
  image.labels = field<Labels>(j, "Labels");
  image.created = field<std::int64_t>(j, "Created");
  image.size = field<std::int64_t>(j, "Size");
  return image;
}

ContainerSummary container_from_list_entry(const json& j) {
  ContainerSummary container;
  container.id = field<std::string>(j, "Id");
  container.names = field<std::vector<std::string>>(j, "Names");
  container.image = field<std::string>(j, "Image");
  container.state = field<std::string>(j, "State");
  container.labels = field<Labels>(j, "Labels");
  container.created = field<std::int64_t>(j, "Created");
  if (const auto settings = j.find("NetworkSettings"); settings != j.end() && settings->is_object()) {
    if (const auto networks = settings->find("Networks"); networks != settings->end() && networks->is_object()) {
      for (const auto& [name, _] : networks->items()) container.networks.push_back(name);
    }
  }
  return container;
}

template <typename Key, typename Value>
void put_if(json& j, const Key& key, const Value& value, bool present) {
  if (present) {
    j[key] = value;
  }
}

json host_config(const ContainerSpec& spec) {
  json host = json::object();
  put_if(host, "NanoCpus", spec.nano_cpus, spec.nano_cpus != 0);
  put_if(host, "Memory", spec.memory_bytes, spec.memory_bytes != 0);
  put_if(host, "MemorySwap", spec.memory_swap_bytes, spec.memory_swap_bytes != 0);
  put_if(host, "PidsLimit", spec.pids_limit, spec.pids_limit != 0);
  put_if(host, "NetworkMode", spec.network_mode, !spec.network_mode.empty());
  put_if(host, "Dns", spec.dns, !spec.dns.empty());
  put_if(host, "CapDrop", spec.cap_drop, !spec.cap_drop.empty());
  put_if(host, "SecurityOpt", spec.security_opt, !spec.security_opt.empty());
  put_if(host, "ReadonlyRootfs", true, spec.readonly_rootfs);
  put_if(host, "Tmpfs", spec.tmpfs, !spec.tmpfs.empty());
  put_if(host, "Binds", spec.binds, !spec.binds.empty());
  put_if(host, "Runtime", spec.runtime, !spec.runtime.empty());
  put_if(host, "Init", true, spec.init);
  if (!spec.ulimits.empty()) {
    json& ulimits = host["Ulimits"] = json::array();
    for (const auto& limit : spec.ulimits) {
      ulimits.push_back({{"Name", limit.name}, {"Soft", limit.soft}, {"Hard", limit.hard}});
    }
  }
  if (!spec.log_driver.empty() || !spec.log_options.empty()) {
    json log = {{"Config", spec.log_options}};
    put_if(log, "Type", spec.log_driver, !spec.log_driver.empty());
    host["LogConfig"] = std::move(log);
  }
  return host;
}

// Reads exactly `width` decimal digits at `pos`, advancing it.
int read_digits(std::string_view text, std::size_t& pos, std::size_t width) {
  if (pos + width > text.size()) {
    throw BadAnswer("truncated time");
  }
  int value = 0;
  for (const char c : text.substr(pos, width)) {
    if (c < '0' || c > '9') {
      throw BadAnswer("digits expected");
    }
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

void expect_char(std::string_view text, std::size_t& pos, std::string_view allowed) {
  if (pos >= text.size() || allowed.find(text[pos]) == std::string_view::npos) {
    throw BadAnswer("one of \"" + std::string(allowed) + "\" expected");
  }
  ++pos;
}

std::int64_t rfc3339_seconds(std::string_view text) {
  std::size_t pos = 0;
  const int year = read_digits(text, pos, 4);
  expect_char(text, pos, "-");
  const int month = read_digits(text, pos, 2);
  expect_char(text, pos, "-");
  const int day = read_digits(text, pos, 2);
  expect_char(text, pos, "Tt ");
  const int hour = read_digits(text, pos, 2);
  expect_char(text, pos, ":");
  const int minute = read_digits(text, pos, 2);
  expect_char(text, pos, ":");
  const int second = read_digits(text, pos, 2);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    const auto digits_end = text.find_first_not_of("0123456789", pos);
    pos = digits_end == std::string_view::npos ? text.size() : digits_end;
  }
  int offset_seconds = 0;
  if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const int offset_hours = read_digits(text, pos, 2);
    expect_char(text, pos, ":");
    offset_seconds = sign * (offset_hours * 3600 + read_digits(text, pos, 2) * 60);
  } else {
    expect_char(text, pos, "Zz");
  }
  if (pos != text.size()) {
    throw BadAnswer("trailing characters after the time");
  }
  const std::chrono::year_month_day date{std::chrono::year{year}, std::chrono::month{static_cast<unsigned>(month)},
                                         std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) {
    throw BadAnswer("no such date or time");
  }
  const auto days = std::chrono::sys_days{date}.time_since_epoch().count();
  return std::int64_t{days} * 86400 + hour * 3600 + minute * 60 + second - offset_seconds;
}

}  // namespace

std::string create_container_body(const ContainerSpec& spec) {
  json config = {
      {"Image", spec.image},
      {"Tty", false},
      {"AttachStdin", spec.open_stdin},
      {"OpenStdin", spec.open_stdin},
      // StdinOnce makes the engine close the program's stdin when our attach half-closes: the program sees EOF.
      {"StdinOnce", spec.open_stdin},
      {"AttachStdout", true},
      {"AttachStderr", true},
  };
  put_if(config, "Cmd", spec.cmd, !spec.cmd.empty());
  put_if(config, "Env", spec.env, !spec.env.empty());
  put_if(config, "User", spec.user, !spec.user.empty());
  put_if(config, "WorkingDir", spec.working_dir, !spec.working_dir.empty());
  put_if(config, "Labels", spec.labels, !spec.labels.empty());
  put_if(config, "NetworkDisabled", true, spec.network_disabled);
  config["HostConfig"] = host_config(spec);
  return config.dump();
}

std::string label_filter(std::string_view label) {
  return json{{"label", json::array({std::string(label)})}}.dump();
}

std::string error_message(std::string_view body) {
  const json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    const auto it = doc.find("message");
    if (it != doc.end() && it->is_string()) {
      return it->get<std::string>();
    }
  }
  // Some answers are plain text (a hijacked endpoint's 404, "client version ... is too old").
  constexpr std::size_t kMaxText = 1024;
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = body.find_last_not_of(" \t\r\n");
  return std::string(body.substr(first, std::min(last + 1 - first, kMaxText)));
}

core::Result<std::string> parse_created_id(std::string_view body) {
  return parse_body(body, "POST /containers/create", [](const json& doc) {
    auto id = field<std::string>(doc, "Id");
    if (id.empty()) {
      throw BadAnswer("no container Id");
    }
    return id;
  });
}

core::Result<EngineVersion> parse_version(std::string_view body) {
  return parse_body(body, "GET /version", [](const json& doc) {
    EngineVersion version;
    version.version = field<std::string>(doc, "Version");
    version.api_version = field<std::string>(doc, "ApiVersion");
    version.min_api_version = field<std::string>(doc, "MinAPIVersion");
    version.os = field<std::string>(doc, "Os");
    version.arch = field<std::string>(doc, "Arch");
    return version;
  });
}

core::Result<EngineInfo> parse_info(std::string_view body) {
  return parse_body(body, "GET /info", [](const json& doc) {
    EngineInfo info;
    info.server_version = field<std::string>(doc, "ServerVersion");
    info.cgroup_version = field<std::string>(doc, "CgroupVersion");
    info.default_runtime = field<std::string>(doc, "DefaultRuntime");
    info.ncpu = field<int>(doc, "NCPU");
    info.mem_total = field<std::int64_t>(doc, "MemTotal");
    const json& runtimes = child(doc, "Runtimes");
    if (runtimes.is_object()) {
      for (const auto& [name, ignored] : runtimes.items()) {
        info.runtimes.push_back(name);
      }
    }
    return info;
  });
}

core::Result<std::vector<ImageSummary>> parse_image_list(std::string_view body) {
  return parse_body(body, "GET /images/json",
                    [](const json& doc) { return map_array<ImageSummary>(doc, image_from_list_entry); });
}

core::Result<ImageSummary> parse_image_inspect(std::string_view body) {
  return parse_body(body, "GET /images/{name}/json", [](const json& doc) {
    ImageSummary image;
    image.id = field<std::string>(doc, "Id");
    image.repo_tags = field<std::vector<std::string>>(doc, "RepoTags");
    const json& config = child(doc, "Config");
    if (!config.is_null()) {
      image.labels = field<Labels>(config, "Labels");
    }
    // Newer engines leave Created out for images without a build time (e.g. imported ones).
    const auto created = field<std::string>(doc, "Created");
    image.created = created.empty() ? 0 : rfc3339_seconds(created);
    image.size = field<std::int64_t>(doc, "Size");
    return image;
  });
}

core::Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body) {
  return parse_body(body, "GET /containers/json",
                    [](const json& doc) { return map_array<ContainerSummary>(doc, container_from_list_entry); });
}

core::Result<ContainerState> parse_container_state(std::string_view body) {
  return parse_body(body, "GET /containers/{id}/json", [](const json& doc) {
    const json& state_json = child(doc, "State");
    if (!state_json.is_object()) {
      throw BadAnswer("no State object");
    }
    ContainerState state;
    state.status = field<std::string>(state_json, "Status");
    state.running = field<bool>(state_json, "Running");
    state.oom_killed = field<bool>(state_json, "OOMKilled");
    state.exit_code = field<int>(state_json, "ExitCode");
    state.error = field<std::string>(state_json, "Error");
    const json& host_config = child(doc, "HostConfig");
    if (host_config.is_object()) {
      state.runtime = field<std::string>(host_config, "Runtime");
      state.limits.memory_bytes = field<std::int64_t>(host_config, "Memory");
      state.limits.memory_swap_bytes = field<std::int64_t>(host_config, "MemorySwap");
      state.limits.nano_cpus = field<std::int64_t>(host_config, "NanoCpus");
      state.limits.pids_limit = field<std::int64_t>(host_config, "PidsLimit");
      state.limits.readonly_rootfs = field<bool>(host_config, "ReadonlyRootfs");
      state.limits.network_mode = field<std::string>(host_config, "NetworkMode");
    }
    const json& config = child(doc, "Config");
    if (config.is_object()) {
      state.limits.user = field<std::string>(config, "User");
      state.limits.network_disabled = field<bool>(config, "NetworkDisabled");
    }
    return state;
  });
}

core::Result<ContainerStats> parse_container_stats(std::string_view body) {
  return parse_body(body, "GET /containers/{id}/stats", [](const json& doc) {
    // A limit the engine leaves out (or reports as 0) is no limit it knows of.
    const auto limit = [](const json& parent, const std::string& key) -> std::optional<std::int64_t> {
      if (!parent.is_object()) return std::nullopt;
      const auto value = field<std::int64_t>(parent, key);
      return value > 0 ? std::optional<std::int64_t>(value) : std::nullopt;
    };
    ContainerStats stats;
    const json& memory = child(doc, "memory_stats");
    stats.memory_limit = limit(memory, "limit");
    if (memory.is_object()) stats.memory_usage = field<std::int64_t>(memory, "usage");
    const json& pids = child(doc, "pids_stats");
    stats.pids_limit = limit(pids, "limit");
    if (pids.is_object()) stats.pids_current = field<std::int64_t>(pids, "current");
    const json& cpu = child(doc, "cpu_stats");
    if (cpu.is_object()) {
      const json& usage = child(cpu, "cpu_usage");
      if (usage.is_object()) stats.cpu_total_ns = field<std::int64_t>(usage, "total_usage");
      const json& throttling = child(cpu, "throttling_data");
      if (throttling.is_object()) {
        stats.cpu_periods = field<std::int64_t>(throttling, "periods");
        stats.cpu_throttled_periods = field<std::int64_t>(throttling, "throttled_periods");
      }
    }
    return stats;
  });
}

core::Result<WaitResult> parse_wait(std::string_view body) {
  return parse_body(body, "POST /containers/{id}/wait", [](const json& doc) {
    WaitResult result;
    result.status_code = field<int>(doc, "StatusCode");
    const json& error = child(doc, "Error");
    if (!error.is_null()) {
      result.error = field<std::string>(error, "Message");
    }
    return result;
  });
}

core::Result<std::int64_t> parse_rfc3339(std::string_view text) {
  try {
    return rfc3339_seconds(text);
  } catch (const BadAnswer& e) {
    return core::fail(ErrorKind::invalid_argument, "not an RFC 3339 time \"" + std::string(text) + "\": " + e.what());
  }
}

}  // namespace docker::engine_json
