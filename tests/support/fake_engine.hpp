#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "docker/engine.hpp"

namespace testing {

using core::Result;

/// An in-memory Engine with scripted answers, for the paths a real engine
/// cannot be made to take on demand. Records every call.
class FakeEngine : public docker::Engine {
 public:
  // Script: which step fails (with what), what the program prints, how it ends.
  std::map<std::string, core::Error> failures;  ///< step name ("create", "attach", "start", "pump", "wait", "inspect", "stats", "kill", "remove") -> error
  std::string program_stdout = "hello\n";
  std::string program_stderr;
  bool program_hangs = false;  ///< pump reaches the deadline; only a kill ends it
  /// Like the real bootstrap, end both streams with "<token> <exit_code>" (the token is the first
  /// line of the input) and leave the stream open, as while the engine processes the exit.
  bool writes_end_lines = false;
  int exit_code = 0;
  bool oom_killed = false;
  std::string actual_runtime = "runc";  ///< HostConfig.Runtime inspect reports when the spec names none
  bool runtime_ignored = false;         ///< inspect reports actual_runtime whatever the spec asked for
  std::vector<docker::ImageSummary> images;
  docker::ContainerStats stats;  ///< what container_stats answers for a live container
  std::function<void()> on_start;  ///< what the program does besides its output (writes to /data); called by start
  std::function<void()> on_remove;  ///< called by remove before it removes (a test can hold it there)

  // Record.
  std::vector<std::string> calls;
  std::vector<docker::ContainerSpec> created_specs;
  std::set<std::string> live_containers;
  std::set<std::string> exited_containers;  ///< waited for: inspect no longer says running
  std::map<std::string, docker::Labels> container_labels;  ///< id -> labels, for list_containers
  std::map<std::string, std::vector<std::string>> container_networks;  ///< id -> network names, for list_containers
  std::string received_input;

  Result<void> ping() override;
  Result<docker::EngineVersion> version() override;
  Result<docker::EngineInfo> info() override;
  [[nodiscard]] std::string api_version() const override { return "1.41"; }
  Result<std::vector<docker::ImageSummary>> list_images(std::string_view label) override;
  Result<docker::ImageSummary> inspect_image(std::string_view name) override;
  Result<std::string> create_container(const docker::ContainerSpec& spec) override;
  Result<std::unique_ptr<docker::Attachment>> attach(std::string_view id) override;
  Result<void> start_container(std::string_view id) override;
  Result<docker::WaitResult> wait_container(std::string_view id, std::chrono::milliseconds timeout) override;
  Result<docker::ContainerState> inspect_container(std::string_view id) override;
  Result<docker::ContainerStats> container_stats(std::string_view id) override;
  Result<void> kill_container(std::string_view id) override;
  Result<void> remove_container(std::string_view id) override;
  Result<std::vector<docker::ContainerSummary>> list_containers(std::string_view label) override;

  /// A runner image whose labels carry a manifest for `language`.
  /// `extra_fields` are more manifest members, each with a leading comma (`,"packages":{...}`).
  void add_runner(const std::string& language, const std::string& aliases_json = "[]",
                  const std::string& extra_fields = "");
  /// The deployment's egress proxy, as the engine lists it: running, labelled, on `network`.
  void add_egress_proxy(const std::string& network = "mcp-sandbox-egress");

  /// A container made behind the server's back (another server, a crashed predecessor); returns its id.
  std::string add_container(docker::Labels labels);

  /// The error scripted for `step`, if any; records the call either way.
  std::optional<core::Error> step(const std::string& name);

  std::atomic<bool> killed{false};  ///< set by kill_container, which the executor calls from another thread

 private:
  int m_next_id = 1;
  std::mutex m_calls_mutex;  ///< the executor kills from another thread while it pumps
};

}  // namespace testing
