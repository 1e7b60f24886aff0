#pragma once

#include <iosfwd>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "docker/engine.hpp"

namespace cli {

/// Arguments of `mcp-sandbox run`.
struct RunArgs {
  std::string language;
  std::string conversation_id;  ///< empty: a throwaway directory removed after the run
  std::optional<int> timeout_seconds;
  bool network = false;
  std::optional<std::string> stdin_text;
  std::string source = "-";  ///< file path, or - for standard input
};

/// Exit codes of `mcp-sandbox run`: the program ran and exited 0; the program
/// ran and failed (non-zero, timeout, OOM); the run could not happen.
inline constexpr int kRunSucceeded = 0;
inline constexpr int kRunProgramFailed = 1;
inline constexpr int kRunNotPossible = 3;

/// Prints {"error": {"kind", "message"}} on `err` and returns kRunNotPossible.
int report_error(const core::Error& error, std::ostream& err);

/// Runs one program and prints its outcome as JSON on `out`; errors go to
/// `err` as JSON {"error": {"kind", "message"}}. Returns one of the exit codes above.
int run_command(const config::Config& config, docker::Engine& engine, const RunArgs& args, std::ostream& out,
                std::ostream& err);

}  // namespace cli
