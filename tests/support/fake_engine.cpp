#include "support/fake_engine.hpp"

#include <thread>

namespace testing {
namespace {

std::string frame(unsigned char stream, const std::string& payload) {
  std::string out(8, '\0');
  out[0] = static_cast<char>(stream);
  const auto size = static_cast<std::uint32_t>(payload.size());
  out[4] = static_cast<char>((size >> 24) & 0xff);
  out[5] = static_cast<char>((size >> 16) & 0xff);
  out[6] = static_cast<char>((size >> 8) & 0xff);
  out[7] = static_cast<char>(size & 0xff);
  return out + payload;
}

class FakeAttachment : public docker::Attachment {
 public:
  FakeAttachment(FakeEngine& engine, std::string id) : m_engine(engine), m_id(std::move(id)) {}

  // Like the engine's stream: closed once the container exited or was removed.
  bool silent() override {
    return !m_delivered && m_engine.live_containers.contains(m_id) && !m_engine.exited_containers.contains(m_id);
  }

  Result<docker::PumpEnd> pump(std::string_view input, docker::Clock::time_point deadline,
                               docker::StreamDemux& sink) override {
    if (auto error = m_engine.step("pump")) return core::fail(*error);
    m_engine.received_input += input;
    if (m_engine.program_hangs && !m_engine.killed) {
      // A hanging program's stream stays silent until the deadline. Reaching it at once keeps the
      // tests fast; a millisecond's wait keeps a caller pumping in a loop (the executor while it
      // kills) from spinning through millions of recorded calls.
      std::this_thread::sleep_until(std::min(deadline, docker::Clock::now() + std::chrono::milliseconds(1)));
      return docker::PumpEnd::deadline;
    }
    if (!m_delivered) {
      sink.feed(frame(1, m_engine.program_stdout));
      if (!m_engine.program_stderr.empty()) sink.feed(frame(2, m_engine.program_stderr));
      m_delivered = true;
      if (m_engine.writes_end_lines) {
        const std::string token(input.substr(0, input.find('\n')));
        const std::string end = token + " " + std::to_string(m_engine.exit_code) + "\n";
        sink.feed(frame(1, end) + frame(2, end));
        return docker::PumpEnd::end_line;
      }
    }
    return docker::PumpEnd::eof;
  }

 private:
  FakeEngine& m_engine;
  std::string m_id;
  bool m_delivered = false;
};

}  // namespace

std::optional<core::Error> FakeEngine::step(const std::string& name) {
  const std::lock_guard lock(m_calls_mutex);
  calls.push_back(name);
  if (auto it = failures.find(name); it != failures.end()) return it->second;
  return std::nullopt;
}

Result<void> FakeEngine::ping() {
  if (auto error = step("ping")) return core::fail(*error);
  return {};
}

Result<docker::EngineVersion> FakeEngine::version() {
  if (auto error = step("version")) return core::fail(*error);
  return docker::EngineVersion{"20.10.24", "1.41", "1.12", "linux", "amd64"};
}

Result<docker::EngineInfo> FakeEngine::info() {
  if (auto error = step("info")) return core::fail(*error);
  return docker::EngineInfo{};
}

Result<std::vector<docker::ImageSummary>> FakeEngine::list_images(std::string_view) {
  if (auto error = step("list_images")) return core::fail(*error);
  return images;
}

Result<docker::ImageSummary> FakeEngine::inspect_image(std::string_view name) {
  if (auto error = step("inspect_image")) return core::fail(*error);
  for (const auto& image : images) {
    for (const auto& tag : image.repo_tags) {
      if (tag == name) return image;
    }
  }
  return core::fail(core::ErrorKind::not_found, "No such image: " + std::string(name));
}

Result<std::string> FakeEngine::create_container(const docker::ContainerSpec& spec) {
  if (auto error = step("create")) return core::fail(*error);
  created_specs.push_back(spec);
  return add_container(spec.labels);
}

std::string FakeEngine::add_container(docker::Labels labels) {
  auto id = "fake" + std::to_string(m_next_id++);
  live_containers.insert(id);
  container_labels[id] = std::move(labels);
  return id;
}

Result<std::unique_ptr<docker::Attachment>> FakeEngine::attach(std::string_view id) {
  if (auto error = step("attach")) return core::fail(*error);
  return std::unique_ptr<docker::Attachment>(std::make_unique<FakeAttachment>(*this, std::string(id)));
}

Result<void> FakeEngine::start_container(std::string_view) {
  if (auto error = step("start")) return core::fail(*error);
  if (on_start) on_start();
  return {};
}

Result<docker::WaitResult> FakeEngine::wait_container(std::string_view id, std::chrono::milliseconds) {
  if (auto error = step("wait")) return core::fail(*error);
  if (program_hangs && !killed) return core::fail(core::ErrorKind::timeout, "wait timed out");
  exited_containers.insert(std::string(id));
  return docker::WaitResult{killed ? 137 : exit_code, ""};
}

Result<docker::ContainerState> FakeEngine::inspect_container(std::string_view id) {
  if (auto error = step("inspect")) return core::fail(*error);
  docker::ContainerState state;
  state.running = live_containers.contains(std::string(id)) && !exited_containers.contains(std::string(id));
  state.status = state.running ? "running" : "exited";
  const auto* spec_runtime = created_specs.empty() ? nullptr : &created_specs.back().runtime;
  state.runtime = runtime_ignored || spec_runtime == nullptr || spec_runtime->empty() ? actual_runtime : *spec_runtime;
  state.exit_code = killed ? 137 : exit_code;
  state.oom_killed = oom_killed;
  if (!created_specs.empty()) {
    // An engine applies what it was asked for.
    const auto& spec = created_specs.back();
    state.limits = {spec.memory_bytes, spec.memory_swap_bytes, spec.nano_cpus, spec.pids_limit,
                    spec.readonly_rootfs, spec.network_mode, spec.network_disabled, spec.user};
  }
  return state;
}

Result<docker::ContainerStats> FakeEngine::container_stats(std::string_view id) {
  if (auto error = step("stats")) return core::fail(*error);
  if (!live_containers.contains(std::string(id))) {
    return core::fail(core::ErrorKind::not_found, "No such container: " + std::string(id));
  }
  return stats;
}

Result<void> FakeEngine::kill_container(std::string_view) {
  if (auto error = step("kill")) return core::fail(*error);
  killed = true;
  return {};
}

Result<void> FakeEngine::remove_container(std::string_view id) {
  if (auto error = step("remove")) return core::fail(*error);
  if (on_remove) on_remove();
  live_containers.erase(std::string(id));
  return {};
}

Result<std::vector<docker::ContainerSummary>> FakeEngine::list_containers(std::string_view label) {
  if (auto error = step("list_containers")) return core::fail(*error);
  // The engine's label filter: "key" matches any value, "key=value" only that value.
  const auto equals = label.find('=');
  const std::string key(label.substr(0, equals));
  std::vector<docker::ContainerSummary> listed;
  for (const auto& id : live_containers) {
    const auto& labels = container_labels[id];
    const auto found = labels.find(key);
    if (!label.empty() && (found == labels.end() ||
                           (equals != std::string_view::npos && found->second != label.substr(equals + 1)))) {
      continue;
    }
    docker::ContainerSummary summary;
    summary.id = id;
    summary.state = "running";
    summary.labels = labels;
    if (const auto networks = container_networks.find(id); networks != container_networks.end()) {
      summary.networks = networks->second;
    }
    listed.push_back(std::move(summary));
  }
  return listed;
}

void FakeEngine::add_egress_proxy(const std::string& network) {
  live_containers.insert("egress-proxy");
  container_labels["egress-proxy"] = {{"io.mcp-sandbox.kind", "egress-proxy"}};
  container_networks["egress-proxy"] = {"mcp-sandbox-egress-out", network};
}

void FakeEngine::add_runner(const std::string& language, const std::string& aliases_json,
                            const std::string& extra_fields) {
  docker::ImageSummary image;
  image.id = "sha256:" + language;
  const auto tag = "mcp-sandbox/runner-" + language + ":latest";
  image.repo_tags = {tag};
  image.labels = {
      {"io.mcp-sandbox.kind", "runner"},
      {"io.mcp-sandbox.language", language},
      {"io.mcp-sandbox.version", language + " 1.0"},
      {"io.mcp-sandbox.manifest", R"({"language":")" + language + R"(","aliases":)" + aliases_json +
                                      R"(,"image":")" + tag + R"(","file":"main.)" + language +
                                      R"(","command":["run",")" + "/tmp/main." + language +
                                      R"("],"version":["run","--version"])" + extra_fields + "}"},
  };
  images.push_back(image);
}

}  // namespace testing
