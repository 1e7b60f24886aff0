#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "docker/engine.hpp"
#include "runner/manifest.hpp"

namespace runner {

/// A runner image found on the engine.
struct Runner {
  Manifest manifest;
  std::string image_id;
  std::string version;  ///< what the version probe printed at build time
};

/// The runners the engine has, found by image labels (never by C++ code):
/// adding a language is adding an image.
class Registry {
 public:
  Registry() = default;
  explicit Registry(std::vector<Runner> runners, std::vector<std::string> problems = {});

  /// Lists runner images on the engine and reads their manifests. Images
  /// whose manifest is broken are left out and described in problems().
  static core::Result<Registry> discover(docker::Engine& engine);

  /// The runner for a language name or alias, or nullptr.
  [[nodiscard]] const Runner* find(std::string_view language) const;
  [[nodiscard]] const std::vector<Runner>& runners() const { return m_runners; }
  [[nodiscard]] const std::vector<std::string>& problems() const { return m_problems; }
  /// "bash, javascript, python, typescript": for error messages.
  [[nodiscard]] std::string language_list() const;

 private:
  std::vector<Runner> m_runners;
  std::vector<std::string> m_problems;
};

/// The current Registry, shared by concurrent runs and refreshed from the
/// engine when a language is missing (images built after the server started).
class RunnerCatalog {
 public:
  explicit RunnerCatalog(Registry initial = {});

  /// Replaces the registry (start-up discovery, tests).
  void reset(Registry registry);

  /// The registry as last discovered; cheap, safe from any thread.
  [[nodiscard]] std::shared_ptr<const Registry> current() const;

  /// Rediscovers runners unless that happened less than `min_interval` ago.
  core::Result<std::shared_ptr<const Registry>> refresh(docker::Engine& engine,
                                                         std::chrono::seconds min_interval = std::chrono::seconds(5));

 private:
  mutable std::mutex m_mutex;
  std::shared_ptr<const Registry> m_registry;
  std::chrono::steady_clock::time_point m_refreshed{};
};

}  // namespace runner
