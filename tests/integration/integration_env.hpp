#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "docker/engine.hpp"
#include "runner/executor.hpp"
#include "runner/registry.hpp"
#include "sandbox/workspace.hpp"

namespace integration {

/// The real engine and runner images, shared by every integration test.
struct Environment {
  std::unique_ptr<docker::Engine> engine;
  runner::RunnerCatalog catalog;
  std::filesystem::path sandbox_root;
  std::string instance_id;  ///< labels every container this suite makes
};

/// Set up by the integration main before any test runs.
Environment& env();

/// An executor with the default limits (overridable) labelled with the suite's instance id.
runner::Executor make_executor(const config::RunLimits& limits = {});

/// Workspaces under the suite's sandbox root.
sandbox::Workspaces workspaces();

/// Runs `request` in a fresh throwaway workspace (its workspace field is filled in here).
core::Result<runner::RunOutcome> run_ephemeral(runner::RunRequest request, const config::RunLimits& limits = {});

/// Runs `code` in `language` in a throwaway workspace; fails the test if the run could not happen.
runner::RunOutcome run(const std::string& language, const std::string& code, int timeout_seconds = 30,
                       const config::RunLimits& limits = {});

}  // namespace integration
