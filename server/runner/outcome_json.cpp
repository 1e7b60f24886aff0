#include "runner/outcome_json.hpp"

namespace runner {

nlohmann::json outcome_to_json(const RunOutcome& outcome) {
  return {
      {"language", outcome.language},
      {"exitCode", outcome.exit_code},
      {"stdout", outcome.stdout_data},
      {"stderr", outcome.stderr_data},
      {"timedOut", outcome.timed_out},
      {"oomKilled", outcome.oom_killed},
      {"truncated", outcome.truncated},
      {"durationMs", outcome.duration.count()},
  };
}

std::string dump_lossy(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace runner
