#include <catch2/catch.hpp>

#include "runner/runner_limits.hpp"

namespace {

runner::Manifest asking(runner::RequestedLimits limits) {
  runner::Manifest manifest;
  manifest.language = "rust";
  manifest.limits = limits;
  return manifest;
}

}  // namespace

TEST_CASE("runner limits: a manifest without limits gets the defaults") {
  const config::RunLimits defaults;
  const auto limits = runner::limits_for(asking({}), defaults);
  CHECK(limits.cpus == defaults.cpus);
  CHECK(limits.memory_mb == defaults.memory_mb);
  CHECK(limits.timeout_seconds == defaults.timeout_seconds);
}

TEST_CASE("runner limits: raised as asked, up to the operator's maxima") {
  config::RunLimits defaults;
  defaults.max_cpus = 1.0;
  defaults.max_memory_mb = 768;
  defaults.max_timeout_seconds = 45;
  const auto within = runner::limits_for(asking({0.75, 512, 40}), defaults);
  CHECK(within.cpus == 0.75);
  CHECK(within.memory_mb == 512);
  CHECK(within.timeout_seconds == 40);
  const auto beyond = runner::limits_for(asking({4.0, 4096, 600}), defaults);
  CHECK(beyond.cpus == 1.0);
  CHECK(beyond.memory_mb == 768);
  CHECK(beyond.timeout_seconds == 45);
  CHECK(beyond.pids == defaults.pids);  // only the three limits a manifest may name change
}

TEST_CASE("runner limits: never lowered below the defaults, even by a maximum below them") {
  config::RunLimits defaults;
  defaults.memory_mb = 2048;
  defaults.max_memory_mb = 1024;
  const auto lower = runner::limits_for(asking({0.1, 128, 5}), defaults);
  CHECK(lower.cpus == defaults.cpus);
  CHECK(lower.memory_mb == 2048);
  CHECK(lower.timeout_seconds == defaults.timeout_seconds);
  CHECK(runner::limits_for(asking({std::nullopt, 4096, std::nullopt}), defaults).memory_mb == 2048);
}
