#pragma once

#include <chrono>
#include <string>

#include "config/config.hpp"
#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/registry.hpp"
#include "runner/run.hpp"
#include "runner/tracked_containers.hpp"

namespace runner {

struct ExecutorOptions {
  config::RunLimits limits;
  std::string runtime;         ///< OCI runtime; empty = engine default
  bool allow_network = false;  ///< operator policy for RunRequest::network
  std::string instance_id;     ///< labels every container so a reaper can tell ours apart
  /// Where live run ids are registered for the reaper; null when nothing reaps (the CLI).
  TrackedContainers* tracked = nullptr;
  /// After a kill at the deadline, how long to wait for the rest of the output.
  std::chrono::milliseconds drain_after_kill{2000};
};

/// Runs each program in a fresh container: create -> attach -> start ->
/// deliver code -> wait (deadline) -> collect -> remove. The container is
/// removed on every path. A program that fails is an outcome, not an error;
/// errors mean the run could not happen (bad request, engine trouble).
class Executor {
 public:
  Executor(docker::Engine& engine, RunnerCatalog& catalog, ExecutorOptions options);

  core::Result<RunOutcome> run(const RunRequest& request);

 private:
  core::Result<void> check(const RunRequest& request) const;

  docker::Engine& m_engine;
  RunnerCatalog& m_catalog;
  ExecutorOptions m_options;
};

}  // namespace runner
