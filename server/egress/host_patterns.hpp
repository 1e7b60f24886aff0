#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace egress {

/// `host` as the proxy compares it: lower case, one trailing dot dropped, made only of
/// letters, digits, '-', '_' and '.', no empty label, at most 253 bytes. nullopt for anything
/// else (a caller's odd spelling is refused, never guessed at).
std::optional<std::string> normalise_host(std::string_view host);

/// The hosts a run may reach by name: "registry.test" is exactly that host, "*.registry.test"
/// any name below it (not itself), "*" any host. Immutable, thread-safe.
class HostPatterns {
 public:
  HostPatterns() = default;
  /// Parses operator-written patterns; an error names the first bad one.
  static core::Result<HostPatterns> parse(const std::vector<std::string>& patterns);

  /// Whether `host` (already normalised) matches one of the patterns.
  [[nodiscard]] bool matches(std::string_view host) const;
  [[nodiscard]] bool any() const { return m_any; }
  [[nodiscard]] bool empty() const { return !m_any && m_exact.empty() && m_suffixes.empty(); }
  /// The patterns as written back (for list_runners and grants).
  [[nodiscard]] std::vector<std::string> to_strings() const;

 private:
  bool m_any = false;
  std::vector<std::string> m_exact;
  std::vector<std::string> m_suffixes;  ///< ".registry.test" for "*.registry.test"
};

}  // namespace egress
