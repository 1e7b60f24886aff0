#pragma once

#include <cstdint>
#include <optional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace runner {

/// Limits a runner asks for instead of the operator's defaults (a toolchain
/// that cannot fit them); the server grants them up to the operator's maxima.
struct RequestedLimits {
  std::optional<double> cpus;
  std::optional<std::int64_t> memory_mb;
  std::optional<int> timeout_seconds;

  [[nodiscard]] bool empty() const { return !cpus && !memory_mb && !timeout_seconds; }
};

/// How a runner installs the packages a call's `dependencies` name (docs/runners.md).
struct PackageInstaller {
  /// Whose package grammar the specifications follow: "pip" or "npm" (runner::check_dependencies).
  std::string installer;
  /// argv of the language's own installer; the checked specifications are appended. It installs
  /// into /data/.packages/<language>, through the `packages` egress policy.
  std::vector<std::string> install;
  /// Added to every run of the runner, so installed packages are found (PYTHONPATH, NODE_PATH).
  std::map<std::string, std::string> environment;

  [[nodiscard]] bool present() const { return !install.empty(); }
};

/// A language's runner, as described by runners/<language>/manifest.json and
/// carried by its image in the `io.mcp-sandbox.manifest` label.
struct Manifest {
  std::string language;              ///< canonical name, e.g. "python"
  std::vector<std::string> aliases;  ///< other names callers may use, e.g. "py"
  std::string image;                 ///< tag the image is built as
  std::string file;                  ///< source file name the code is stored under in /tmp
  std::vector<std::string> command;  ///< argv that runs /tmp/<file> (or what `compile` built)
  std::vector<std::string> version;  ///< argv that prints the runtime's version
  /// argv run first, stdin closed, for compiled languages; empty for interpreters.
  /// Its output goes to the run's output; a failure ends the run with its exit code.
  std::vector<std::string> compile;
  RequestedLimits limits;  ///< what the runner asks for beyond the defaults

  /// True when the runner compiles before it runs (and so gets the exec tmpfs at /build).
  [[nodiscard]] bool compiles() const { return !compile.empty(); }
  /// Host patterns of the language's package registries ("name" or "*.name"): what the
  /// `packages` egress policy lets a run reach. Optional; EGRESS_PACKAGE_HOSTS replaces it.
  std::vector<std::string> registries;
  PackageInstaller packages;  ///< optional: how `dependencies` are installed

  /// True when `name` is the language or one of its aliases (case-insensitive).
  [[nodiscard]] bool answers_to(std::string_view name) const;
};

/// Parses and checks a manifest; every problem is reported in the message.
core::Result<Manifest> parse_manifest(std::string_view json_text);

}  // namespace runner
