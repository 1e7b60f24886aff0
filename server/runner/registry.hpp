#pragma once

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

}  // namespace runner
