#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "runner/egress_plan.hpp"
#include "runner/executor.hpp"
#include "runner/manifest.hpp"
#include "runner/run.hpp"

namespace runner {

/// The folder of /data that holds a conversation's installed packages, one folder per language.
/// It is not the program's output: runs, links and resources do not list it.
inline constexpr std::string_view kPackagesFolder = ".packages";

/// What installing a call's dependencies did.
struct InstallReport {
  std::vector<std::string> packages;  ///< the checked specifications asked for
  bool cached = false;                ///< an earlier run of the conversation installed them all: nothing ran
  std::optional<RunOutcome> outcome;  ///< the installer's run, when one ran

  [[nodiscard]] bool succeeded() const { return cached || (outcome && outcome->succeeded()); }
};

/// Whether runs of `manifest` can reach its package registries to install dependencies on this
/// server: the packages policy offered and the runner's registries named. The error says which
/// is missing, in words for the caller. Whether the runner has an installer is its manifest's.
core::Result<void> packages_reachable(const EgressSettings& settings, const Manifest& manifest);

/// Installs `request.dependencies` into the conversation of `request.workspace` with the
/// runner's own installer (`manifest.packages`): a fresh container of the runner's image whose
/// only way out is the `packages` egress policy, with the operator's INSTALL_ENVIRONMENT for the
/// language, the conversation's /data, and at most `timeout_seconds`. What it installed is
/// recorded next to the packages (.packages/<language>.installed), so asking again for the same
/// packages, or fewer, runs nothing. An error when the install could not be tried at all (no
/// installer for the runner, egress unavailable, the engine); a failed installer is a report.
core::Result<InstallReport> install_dependencies(Executor& executor, const Manifest& manifest,
                                                 const RunRequest& request, int timeout_seconds);

}  // namespace runner
