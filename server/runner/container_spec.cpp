#include "runner/container_spec.hpp"

#include <cmath>

#include "runner/labels.hpp"
#include "sandbox/workspace.hpp"

namespace runner {
namespace {

constexpr std::int64_t kMiB = 1024 * 1024;

std::string code_path(const Manifest& manifest) { return "/tmp/" + manifest.file; }

}  // namespace

std::string shell_words(const std::vector<std::string>& argv) {
  std::string line;
  for (const auto& word : argv) {
    if (!line.empty()) line += ' ';
    line += '\'';
    for (char ch : word) {
      if (ch == '\'') {
        line += "'\\''";
      } else {
        line += ch;
      }
    }
    line += '\'';
  }
  return line;
}

std::string frame_input(const std::string& end_token, const std::string& files_url, const std::string& code,
                        const std::string& stdin_data) {
  std::string input = end_token;
  // `read` splits the line at white space: a URL with any would arrive cut.
  if (!files_url.empty() && files_url.find_first_of(" \t\n") == std::string::npos) input += ' ' + files_url;
  input += '\n' + std::to_string(code.size());
  input.reserve(input.size() + 1 + code.size() + stdin_data.size());
  input += '\n';
  input += code;
  input += stdin_data;
  return input;
}

docker::ContainerSpec build_container_spec(const Manifest& manifest, const RunRequest& request,
                                           const config::RunLimits& limits, const std::string& runtime, bool network,
                                           const RunIdentity& identity) {
  docker::ContainerSpec spec;
  spec.name = "mcp-sandbox-run-" + identity.run_id;
  spec.image = manifest.image;
  if (!request.command.empty()) {  // the package installer: nothing is compiled
    spec.cmd = {"/bin/sh", "-c", kBootstrap, code_path(manifest)};
    spec.cmd.insert(spec.cmd.end(), request.command.begin(), request.command.end());
  } else if (manifest.compiles()) {
    spec.cmd = {"/bin/sh", "-c", kCompileBootstrap, code_path(manifest), shell_words(manifest.compile)};
    spec.cmd.insert(spec.cmd.end(), manifest.command.begin(), manifest.command.end());
  } else {
    spec.cmd = {"/bin/sh", "-c", kBootstrap, code_path(manifest)};
    spec.cmd.insert(spec.cmd.end(), manifest.command.begin(), manifest.command.end());
  }
  // Where installed packages are found, for every run (a later run imports what an earlier one
  // installed); the caller's own variables come after and win.
  for (const auto& [key, value] : manifest.packages.environment) {
    if (!request.environment.contains(key)) spec.env.push_back(key + "=" + value);
  }
  for (const auto& [key, value] : request.environment) spec.env.push_back(key + "=" + value);
  spec.user = std::to_string(sandbox::kRunnerUid) + ":" + std::to_string(sandbox::kRunnerGid);
  spec.working_dir = "/data";
  spec.labels = {
      {labels::kKind, labels::kKindRun},
      {labels::kRunId, identity.run_id},
      {labels::kInstance, identity.instance_id},
      {labels::kLanguage, manifest.language},
      {labels::kConversation, request.workspace.name},
      {labels::kStartedAt, std::to_string(identity.started_at_ms)},
  };
  spec.open_stdin = true;

  // Without network the engine can skip its network start hook entirely
  // (NetworkDisabled), which halves container start time (engine-notes.md).
  spec.network_disabled = !network;
  spec.network_mode = network ? "bridge" : "none";

  spec.nano_cpus = std::llround(limits.cpus * 1e9);
  spec.memory_bytes = limits.memory_mb * kMiB;
  spec.memory_swap_bytes = spec.memory_bytes;
  spec.pids_limit = limits.pids;
  spec.cap_drop = {"ALL"};
  spec.security_opt = {"no-new-privileges"};
  spec.readonly_rootfs = true;
  spec.tmpfs = {{"/tmp", "rw,noexec,nosuid,nodev,size=" + std::to_string(limits.tmp_mb) + "m,mode=1777"}};
  // Binaries a compiler wrote must be executable, so they get a tmpfs of their
  // own; its pages count against the run's memory limit like /tmp's.
  if (manifest.compiles()) {
    spec.tmpfs[kBuildDirectory] = "rw,exec,nosuid,nodev,size=" + std::to_string(limits.build_mb) + "m,mode=1777";
  }
  spec.binds = {request.workspace.engine_path + ":/data:rw"};
  spec.ulimits = {{"nofile", limits.nofile, limits.nofile},
                  {"fsize", limits.file_size_mb * kMiB, limits.file_size_mb * kMiB}};
  // Output reaches us through the attach stream only; a log driver would keep
  // an unbounded copy of everything a program prints on the host.
  spec.log_driver = "none";
  spec.runtime = runtime;
  return spec;
}

}  // namespace runner
