#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/tracked_containers.hpp"

namespace runner {

/// Removes the run containers of this instance that nothing owns any more:
/// those a crashed or SIGKILLed predecessor left, and those whose removal
/// failed while the engine was away. A container is ours when it carries
/// kind=run and our instance label; it is owned while its run id is in
/// `TrackedContainers`. Containers of any other instance are never touched.
class Reaper {
 public:
  /// Called after each sweep with the number of containers removed.
  using OnSweep = std::function<void(std::size_t reaped)>;

  Reaper(docker::Engine& engine, const TrackedContainers& tracked, std::string instance_id, OnSweep on_sweep = {});
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  /// One pass: lists our containers in every state and force-removes the
  /// untracked ones. Returns how many were removed; fails only when the
  /// list itself fails (a failed removal is retried next sweep).
  core::Result<std::size_t> sweep();

  /// Sweeps now and then every `interval` on a background thread until stop().
  void start(std::chrono::milliseconds interval);
  /// Ends the background thread (waits for a sweep in progress). Idempotent.
  void stop();

 private:
  void loop(std::chrono::milliseconds interval);

  docker::Engine& m_engine;
  const TrackedContainers& m_tracked;
  std::string m_instance_id;
  OnSweep m_on_sweep;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  bool m_stopping = false;
  std::thread m_thread;
};

}  // namespace runner
