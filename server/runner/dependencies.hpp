#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace runner {

/// The caps on a call's `dependencies`: what an installer is ever handed.
inline constexpr std::size_t kMaxDependencies = 16;
inline constexpr std::size_t kMaxDependencyLength = 128;

/// Which installer a language's dependencies go to.
enum class Installer { pip, npm };

/// A call's dependencies, checked: every entry a package specification of the language's own
/// installer in a strict subset of its grammar (below), sorted and without repeats, so that the
/// same set always reads the same (what a conversation's install marker records).
struct Dependencies {
  Installer installer = Installer::pip;
  std::vector<std::string> specs;
};

/// Checks `entries` for `installer` ("pip" or "npm", a runner manifest's packages.installer).
/// pip: PEP 508 names with optional extras and version clauses (`requests==2.31`,
/// `pandas[excel]>=2,<3`); npm: names with an optional scope and version range (`left-pad`,
/// `@scope/pkg@^1.2`). Never a URL, a path, an option, a marker or whitespace: nothing an
/// installer could read as anything but a registry package. An error names the entry (made
/// printable) and what is wrong.
core::Result<Dependencies> check_dependencies(std::string_view installer, const std::vector<std::string>& entries);

}  // namespace runner
