#pragma once

#include <nlohmann/json.hpp>

#include "runner/run.hpp"

namespace runner {

/// The outcome with the field names every surface uses (CLI, MCP tools): language, exitCode,
/// stdout, stderr, timedOut, oomKilled, truncated, durationMs. Each surface adds its own
/// fields (the CLI its runId, run_code the conversation and its files).
nlohmann::json outcome_to_json(const RunOutcome& outcome);

/// Serialises JSON whose strings may hold bytes that are not UTF-8 (program
/// output): invalid sequences become U+FFFD instead of throwing.
std::string dump_lossy(const nlohmann::json& value, int indent = -1);

}  // namespace runner
