#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>

#include "metrics/metrics.hpp"

namespace {

// The distinct values of `label` in the exposition's series.
std::set<std::string> label_values(const std::string& exposition, const std::string& label) {
  std::set<std::string> values;
  const std::string key = label + "=\"";
  for (auto at = exposition.find(key); at != std::string::npos; at = exposition.find(key, at + 1)) {
    const auto start = at + key.size();
    values.insert(exposition.substr(start, exposition.find('"', start) - start));
  }
  return values;
}

// The value of the series written exactly as `series` (name and labels), or -1 when absent.
double value_of(const std::string& exposition, const std::string& series) {
  const auto at = exposition.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(exposition.substr(at + series.size() + 2));
}

}  // namespace

TEST_CASE("metrics: run labels are bounded, whatever languages arrive") {
  metrics::Metrics metrics;
  metrics.run_started();
  metrics.run_finished("python", "ok", 0.1);
  for (int i = 0; i < 200; ++i) {
    metrics.run_started();
    metrics.run_finished("lang-" + std::to_string(i), "error", 0.1);
  }
  const auto exposition = metrics.serialize();
  const auto languages = label_values(exposition, "language");
  CHECK(languages.size() == metrics::Metrics::kMaxLanguages + 1);  // the first 32, then "other"
  CHECK(languages.count("python") == 1);
  CHECK(languages.count("other") == 1);
  CHECK(languages.count("lang-199") == 0);
  // Every later language is counted, under "other": 200 - 31 runs.
  CHECK(value_of(exposition, "mcp_sandbox_runs_total{language=\"other\",outcome=\"error\"}") == 169);
  // A language seen before the cap keeps its own series.
  metrics.run_started();
  metrics.run_finished("python", "failed", 0.1);
  CHECK(value_of(metrics.serialize(), "mcp_sandbox_runs_total{language=\"python\",outcome=\"failed\"}") == 1);
}

TEST_CASE("metrics: egress decisions counted by policy, decision and reason, policy labels bounded") {
  metrics::Metrics m;
  m.egress_decision("packages", true, "allowed");
  m.egress_decision("packages", true, "allowed");
  m.egress_decision("packages", false, "host_not_allowed");
  m.egress_decision("", false, "no_credentials");
  m.egress_decision("made-up-by-a-caller", false, "bad_credentials");
  const auto text = m.serialize();
  CHECK(value_of(text, R"(mcp_sandbox_egress_decisions_total{decision="allowed",policy="packages",reason="allowed"})") == 2);
  CHECK(value_of(text, R"(mcp_sandbox_egress_decisions_total{decision="denied",policy="packages",reason="host_not_allowed"})") == 1);
  CHECK(value_of(text, R"(mcp_sandbox_egress_decisions_total{decision="denied",policy="unknown",reason="no_credentials"})") == 1);
  CHECK(label_values(text, "policy") == std::set<std::string>{"packages", "unknown"});
}
