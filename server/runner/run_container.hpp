#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/container_spec.hpp"
#include "runner/tracked_containers.hpp"

namespace runner {

/// A run container that is created, attached and started: its bootstrap is
/// blocked reading the framed code from stdin (kBootstrap), so nothing of the
/// program has run yet. Used for exactly one run, then removed.
struct StartedContainer {
  TrackedContainers::Ticket ticket;  ///< first member: released last, after the container is gone
  RunIdentity identity;
  std::string id;
  std::unique_ptr<docker::Attachment> attachment;
  std::string image_id;     ///< the image it was created from (warm containers; empty otherwise)
  std::string fingerprint;  ///< spec_fingerprint() of its spec
};

/// Tracks the run id, then create -> attach (before start, so no output is
/// lost) -> start. On failure whatever was created is removed again.
core::Result<StartedContainer> start_run_container(docker::Engine& engine, const docker::ContainerSpec& spec,
                                                   const RunIdentity& identity, TrackedContainers* tracked);

/// Force-removes the container (the bootstrap or program may still run);
/// a failure is logged once here, the reaper finds it later by its labels.
void remove_run_container(docker::Engine& engine, StartedContainer& container);

/// The create request without what differs per container (name, run id and
/// start time labels, image reference): two specs with the same fingerprint
/// give the program exactly the same environment, limits and mounts.
std::string spec_fingerprint(docker::ContainerSpec spec);

}  // namespace runner
