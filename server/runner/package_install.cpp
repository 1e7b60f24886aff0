#include "runner/package_install.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "sandbox/files.hpp"

namespace runner {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxMarkerBytes = 64 * 1024;

std::string marker_path(const Manifest& manifest) {
  return std::string(kPackagesFolder) + "/" + manifest.language + ".installed";
}

// The specifications earlier installs of the conversation recorded; empty when there is no
// record or it is not ours to read (a run can write anything there: at worst it skips an install
// its own program then misses).
std::set<std::string> recorded(const sandbox::SandboxFiles& files, const Manifest& manifest) {
  std::set<std::string> specs;
  const auto text = files.read(marker_path(manifest), kMaxMarkerBytes);
  if (!text) return specs;
  const json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object() || !doc.contains("packages") || !doc["packages"].is_array()) return specs;
  for (const auto& item : doc["packages"]) {
    if (item.is_string()) specs.insert(item.get<std::string>());
  }
  return specs;
}

}  // namespace

core::Result<void> packages_reachable(const EgressSettings& settings, const Manifest& manifest) {
  if (!settings.offers(EgressPolicy::packages)) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "dependencies are installed through the packages egress policy, which this server does not "
                      "offer (its operator enables it with EGRESS_POLICIES); run without dependencies");
  }
  if (package_hosts(settings, manifest).empty()) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "dependencies for " + manifest.language +
                          " need its package registries, which this server's operator has not named "
                          "(EGRESS_PACKAGE_HOSTS); run without dependencies");
  }
  return {};
}

core::Result<InstallReport> install_dependencies(Executor& executor, const Manifest& manifest,
                                                 const RunRequest& request, int timeout_seconds) {
  if (!manifest.packages.present()) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "the " + manifest.language + " runner does not install dependencies (list_runners says which do)");
  }
  InstallReport report;
  report.packages = request.dependencies;
  const sandbox::SandboxFiles files(request.workspace.server_path);
  auto installed = recorded(files, manifest);
  report.cached = std::all_of(report.packages.begin(), report.packages.end(),
                              [&installed](const std::string& spec) { return installed.contains(spec); });
  if (report.cached) return report;

  RunRequest install;
  install.language = manifest.language;
  install.command = manifest.packages.install;
  install.command.insert(install.command.end(), report.packages.begin(), report.packages.end());
  const auto& environments = executor.egress().install_environment;
  if (const auto found = environments.find(manifest.language); found != environments.end()) {
    install.environment = found->second;
  }
  install.egress = EgressPolicy::packages;
  install.workspace = request.workspace;
  install.cancel = request.cancel;
  install.timeout_seconds = timeout_seconds;
  install.on_progress = request.on_progress;
  auto outcome = executor.run(install);
  if (!outcome) return core::fail(outcome.error().kind, "installing dependencies: " + outcome.error().message);
  report.outcome = std::move(*outcome);
  if (report.outcome->succeeded()) {
    installed.insert(report.packages.begin(), report.packages.end());
    const json doc = {{"packages", installed}};
    if (auto wrote = files.write(marker_path(manifest), doc.dump() + "\n"); !wrote) {
      // The packages are there; only the next call's shortcut is lost (it installs again).
      spdlog::warn("could not record the installed packages of a conversation: {}", wrote.error().message);
    }
  }
  return report;
}

}  // namespace runner
