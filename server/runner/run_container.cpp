#include "runner/run_container.hpp"

#include <spdlog/spdlog.h>

#include "docker/engine_json.hpp"
#include "runner/labels.hpp"

namespace runner {
namespace {

// No silent downgrade: with a runtime configured (RUNNER_RUNTIME), the
// container must really use it, or it never starts.
core::Result<void> verify_runtime(docker::Engine& engine, const std::string& id, const std::string& runtime) {
  if (runtime.empty()) return {};
  auto state = engine.inspect_container(id);
  if (!state) return core::fail(state.error().with_context("checking the run container's runtime"));
  if (state->runtime != runtime) {
    spdlog::error("run container {} uses runtime '{}', not RUNNER_RUNTIME '{}': refusing to run", id.substr(0, 12),
                  state->runtime, runtime);
    return core::fail(core::ErrorKind::internal, "the engine created the run container with runtime '" +
                                                     state->runtime + "' instead of the configured '" + runtime +
                                                     "'; the run was refused rather than run with weaker isolation");
  }
  return {};
}

}  // namespace

core::Result<StartedContainer> start_run_container(docker::Engine& engine, const docker::ContainerSpec& spec,
                                                   const RunIdentity& identity, TrackedContainers* tracked) {
  StartedContainer container;
  container.identity = identity;
  container.fingerprint = spec_fingerprint(spec);
  // Tracked before the container exists and until after it is removed, so
  // the reaper never takes a live (or warm) container.
  if (tracked != nullptr) container.ticket = tracked->track(identity.run_id);
  auto id = engine.create_container(spec);
  if (!id) {
    const auto language = spec.labels.find(labels::kLanguage);
    return core::fail(id.error().with_context(
        "creating the " + (language != spec.labels.end() ? language->second : std::string("run")) + " container"));
  }
  container.id = std::move(*id);
  if (auto verified = verify_runtime(engine, container.id, spec.runtime); !verified) {
    remove_run_container(engine, container);
    return core::fail(verified.error());
  }
  auto attachment = engine.attach(container.id);
  if (!attachment) {
    remove_run_container(engine, container);
    return core::fail(attachment.error().with_context("attaching to the run container"));
  }
  container.attachment = std::move(*attachment);
  if (auto started = engine.start_container(container.id); !started) {
    remove_run_container(engine, container);
    return core::fail(started.error().with_context("starting the run container"));
  }
  return container;
}

void remove_run_container(docker::Engine& engine, StartedContainer& container) {
  if (container.id.empty()) return;
  container.attachment.reset();  // closes stdin: a bootstrap still waiting exits
  if (auto removed = engine.remove_container(container.id); !removed) {
    spdlog::warn("run container {} not removed ({}): {}", container.id.substr(0, 12),
                 core::to_string(removed.error().kind), removed.error().message);
  }
  container.id.clear();
}

std::string spec_fingerprint(docker::ContainerSpec spec) {
  spec.name.clear();
  spec.image.clear();
  spec.labels.erase(labels::kRunId);
  spec.labels.erase(labels::kStartedAt);
  return docker::engine_json::create_container_body(spec);
}

}  // namespace runner
