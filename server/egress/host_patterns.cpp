#include "egress/host_patterns.hpp"

#include <algorithm>

namespace egress {

std::optional<std::string> normalise_host(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  if (host.empty() || host.size() > 253) return std::nullopt;
  std::string out;
  out.reserve(host.size());
  std::size_t label = 0;
  for (const char c : host) {
    if (c == '.') {
      if (label == 0) return std::nullopt;
      label = 0;
      out += c;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok || ++label > 63) return std::nullopt;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (label == 0) return std::nullopt;
  return out;
}

core::Result<HostPatterns> HostPatterns::parse(const std::vector<std::string>& patterns) {
  HostPatterns parsed;
  for (const auto& pattern : patterns) {
    if (pattern == "*") {
      parsed.m_any = true;
      continue;
    }
    const bool wildcard = pattern.rfind("*.", 0) == 0;
    const auto host = normalise_host(wildcard ? std::string_view(pattern).substr(2) : std::string_view(pattern));
    // A wildcard must keep at least two labels ("*.test" would open a whole top-level domain).
    if (!host || (wildcard && host->find('.') == std::string::npos)) {
      return core::fail(core::ErrorKind::invalid_argument,
                        "'" + pattern + "' is not a host pattern (a host name, or *. followed by one with a dot)");
    }
    if (wildcard) {
      parsed.m_suffixes.push_back("." + *host);
    } else {
      parsed.m_exact.push_back(*host);
    }
  }
  return parsed;
}

bool HostPatterns::matches(std::string_view host) const {
  if (m_any) return true;
  if (std::find(m_exact.begin(), m_exact.end(), host) != m_exact.end()) return true;
  return std::any_of(m_suffixes.begin(), m_suffixes.end(), [&](const std::string& suffix) {
    return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
  });
}

std::vector<std::string> HostPatterns::to_strings() const {
  std::vector<std::string> out;
  if (m_any) out.emplace_back("*");
  out.insert(out.end(), m_exact.begin(), m_exact.end());
  for (const auto& suffix : m_suffixes) out.push_back("*" + suffix);
  return out;
}

}  // namespace egress
