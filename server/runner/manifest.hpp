#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace runner {

/// A language's runner, as described by runners/<language>/manifest.json and
/// carried by its image in the `io.mcp-sandbox.manifest` label.
struct Manifest {
  std::string language;              ///< canonical name, e.g. "python"
  std::vector<std::string> aliases;  ///< other names callers may use, e.g. "py"
  std::string image;                 ///< tag the image is built as
  std::string file;                  ///< source file name the code is stored under in /tmp
  std::vector<std::string> command;  ///< argv that runs /tmp/<file>
  std::vector<std::string> version;  ///< argv that prints the runtime's version
  /// Host patterns of the language's package registries ("name" or "*.name"): what the
  /// `packages` egress policy lets a run reach. Optional; EGRESS_PACKAGE_HOSTS replaces it.
  std::vector<std::string> registries;

  /// True when `name` is the language or one of its aliases (case-insensitive).
  [[nodiscard]] bool answers_to(std::string_view name) const;
};

/// Parses and checks a manifest; every problem is reported in the message.
core::Result<Manifest> parse_manifest(std::string_view json_text);

}  // namespace runner
