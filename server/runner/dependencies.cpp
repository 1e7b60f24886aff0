#include "runner/dependencies.hpp"

#include <algorithm>
#include <regex>

#include "core/encoding.hpp"

namespace runner {

namespace {

// PEP 508 without URLs, markers or spaces: name, [extras], version clauses. The version
// characters are PEP 440's (epoch !, local +, wildcard .*).
const std::regex& python_spec() {
  static const std::regex pattern(
      R"(^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)"
      R"((\[[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?(,[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)*\])?)"
      R"(((===|==|!=|~=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+(,(===|==|!=|~=|<=|>=|<|>)[A-Za-z0-9.*+!_-]+)*)?$)");
  return pattern;
}

// npm names (lower case, optional @scope/) and an optional @range of semver characters or a
// tag: no ':' and no '/' after the scope, so no git+ssh://, file:, http: or path spec.
const std::regex& npm_spec() {
  static const std::regex pattern(R"(^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*(@[A-Za-z0-9.^~*<>=|+-]+)?$)");
  return pattern;
}

}  // namespace

core::Result<Dependencies> check_dependencies(std::string_view installer, const std::vector<std::string>& entries) {
  Dependencies checked;
  const std::regex* grammar = nullptr;
  if (installer == "pip") {
    checked.installer = Installer::pip;
    grammar = &python_spec();
  } else if (installer == "npm") {
    checked.installer = Installer::npm;
    grammar = &npm_spec();
  } else {
    return core::fail(core::ErrorKind::invalid_argument, "no package grammar for installer '" +
                                                             core::printable(std::string(installer), 16) + "'");
  }
  if (entries.size() > kMaxDependencies) {
    return core::fail(core::ErrorKind::invalid_argument,
                      "at most " + std::to_string(kMaxDependencies) + " dependencies are allowed (got " +
                          std::to_string(entries.size()) + ")");
  }
  for (const auto& entry : entries) {
    if (entry.empty() || entry.size() > kMaxDependencyLength) {
      return core::fail(core::ErrorKind::invalid_argument, "a dependency must be 1 to " +
                                                               std::to_string(kMaxDependencyLength) + " characters");
    }
    if (!std::regex_match(entry, *grammar)) {
      return core::fail(core::ErrorKind::invalid_argument,
                        "dependency '" + core::printable(entry, kMaxDependencyLength) + "' is not a " +
                            (checked.installer == Installer::pip ? "Python package name with optional [extras] and "
                                                                   "version clauses (e.g. requests==2.31)"
                                                                 : "npm package name with an optional @version "
                                                                   "(e.g. left-pad, @scope/name@^1.2)"));
    }
    checked.specs.push_back(entry);
  }
  std::sort(checked.specs.begin(), checked.specs.end());
  checked.specs.erase(std::unique(checked.specs.begin(), checked.specs.end()), checked.specs.end());
  return checked;
}

}  // namespace runner
