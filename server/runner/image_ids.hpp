#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

#include "core/error.hpp"
#include "docker/engine.hpp"

namespace runner {

/// The image id each runner image tag names, as last read from the engine, so that a run does not
/// read it twice (once to check the warm container it claims, once to pin its successor's image).
/// A rebuilt image moves its tag: whoever must notice that at once asks with a max_age of zero (a
/// claim, which checks the container's image against the tag); the others accept an answer read
/// within max_age (a successor's start pins the id it gets, and its own claim checks it again).
/// Failed reads are not kept. Thread-safe.
class ImageIds {
 public:
  explicit ImageIds(docker::Engine& engine);

  /// The id `ref` names now: read from the engine unless the last read is younger than `max_age`.
  core::Result<std::string> current(const std::string& ref, std::chrono::milliseconds max_age);

 private:
  using Clock = std::chrono::steady_clock;
  struct Known {
    std::string id;
    Clock::time_point read_at;
  };

  docker::Engine& m_engine;
  std::mutex m_mutex;
  std::map<std::string, Known> m_known;  ///< one entry per runner image tag: bounded by the runners
};

}  // namespace runner
