#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"
#include "docker/types.hpp"
#include "runner/manifest.hpp"
#include "runner/run.hpp"

namespace runner {

/// Identifies a run container for the reaper and for operators.
struct RunIdentity {
  std::string run_id;
  std::string instance_id;
  std::int64_t started_at_ms = 0;
};

/// The shell line that reads "<token>[ <files URL>]\n<n>\n<code>" from stdin,
/// writes the code to /tmp/<file>, looks its working directory (/data) up
/// again and runs the runner's command with the rest of stdin as the
/// program's, with FILE_BASE_URL set to the URL when one came. Both are taken
/// only now, with the code, because a started container may be lent to
/// another conversation just before its code arrives: that conversation's
/// directory is then mounted on the container's /data, which a new look-up
/// sees and the working directory held since the start would not, and the
/// container's own environment names the directory it was started on. Once
/// the program has exited it writes "<token> <exit status>" as the last line
/// of both stdout and stderr and exits with that status: the server knows the program ended, with all its output, the moment
/// those lines arrive, instead of ~75 ms later when the engine has processed
/// the container's exit (runner/executor.cpp). The token is random per run
/// and reaches only the shell, never the program's argv or environment. It
/// needs only /bin/sh and head, so every image can support it. A program
/// killed by a signal gets the shell's one-line report of it on stderr
/// ("Killed", "Segmentation fault"), as in a terminal.
inline constexpr const char* kBootstrap =
    R"(read -r t u && IFS= read -r n && head -c "$n" > "$0" && cd "$PWD" && { [ -z "$u" ] || export FILE_BASE_URL="$u"; "$@"; s=$?; )"
    R"(printf '%s %d\n' "$t" "$s"; printf '%s %d\n' "$t" "$s" >&2; exit "$s"; })";

/// kBootstrap for runners that compile: after writing the program it runs
/// "$1" (the compile argv, shell-quoted by shell_words) with stdin closed, so
/// the program's stdin is left for the program, and only if that succeeds
/// runs the command. A compile error ends the run with the compiler's exit
/// code and its diagnostics on stderr, like any failing program.
inline constexpr const char* kCompileBootstrap =
    R"(read -r t u && IFS= read -r n && head -c "$n" > "$0" && cd "$PWD" && { [ -z "$u" ] || export FILE_BASE_URL="$u"; )"
    R"(eval "$1" < /dev/null && shift && "$@"; s=$?; )"
    R"(printf '%s %d\n' "$t" "$s"; printf '%s %d\n' "$t" "$s" >&2; exit "$s"; })";

/// Where runners that compile write their output: an exec tmpfs, because /tmp
/// is noexec and /data belongs to the user.
inline constexpr const char* kBuildDirectory = "/build";

/// argv as one POSIX shell line: every word single-quoted, so eval runs
/// exactly these words whatever they contain.
std::string shell_words(const std::vector<std::string>& argv);

/// The bytes written to a run's stdin: the end-line token, the conversation's files URL (empty:
/// none; one with white space in it is left out) and the code framed for kBootstrap, then the
/// program's stdin.
std::string frame_input(const std::string& end_token, const std::string& files_url, const std::string& code,
                        const std::string& stdin_data);

/// The create request for one run: limits, hardening, labels, /data bind.
/// `network` must already be checked against the operator's policy.
docker::ContainerSpec build_container_spec(const Manifest& manifest, const RunRequest& request,
                                           const config::RunLimits& limits, const std::string& runtime, bool network,
                                           const RunIdentity& identity);

}  // namespace runner
