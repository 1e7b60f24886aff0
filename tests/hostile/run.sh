#!/usr/bin/env bash
# The hostile suite: hostile programs and hostile requests against a real
# mcp-sandbox server and the real Docker engine (see tests/hostile/README.md).
#
#   tests/hostile/run.sh build/bin/mcp-sandbox [node --test arguments...]
#
# Uses the official MCP SDK installed for tests/e2e. Each test file starts its
# own server(s) (lib/server.mjs) with a fresh sandbox root and secrets; this
# script runs the files with node's test runner, then makes sure no server
# and no run container of theirs is left. Exit 77 (ctest: skipped) only when
# no engine answers and MCP_SANDBOX_REQUIRE_ENGINE is not 1.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
ROOT="$(cd "$HERE/../.." && pwd)"
readonly ROOT

die() { printf 'hostile: error: %s\n' "$*" >&2; exit 1; }
# shellcheck source=tests/e2e/lib/common.sh
. "$ROOT/tests/e2e/lib/common.sh"

# True while a process of ours runs (an exited, unreaped child is a zombie: not running).
running() {
  local pid="$1" _name state
  [[ -r "/proc/$pid/stat" ]] || return 1
  read -r _name _name state _ <"/proc/$pid/stat" || return 1
  [[ "$state" != Z ]]
}

[[ $# -ge 1 ]] || die "usage: tests/hostile/run.sh path/to/mcp-sandbox [node --test arguments...]"
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
[[ -x "$BIN" ]] || die "$BIN is not an executable"

require_engine "the hostile tests"
ensure_node_and_packages
# Node resolves packages from the importing file's folders upwards: share tests/e2e's.
if [[ ! -e "$HERE/node_modules" ]]; then ln -s ../e2e/node_modules "$HERE/node_modules"; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcp-hostile.XXXXXX")"
# After the tests: stop any server a test process left running (by the pid it
# recorded), then remove and report any run container of their instances.
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local status=$? kind value leftovers=0 ids
  if [[ -f "$WORK/servers.txt" ]]; then
    while read -r kind value; do
      if [[ "$kind" == pid ]] && running "$value"; then
        echo "hostile: server $value still running after the tests; killing it" >&2
        kill -KILL "$value" 2>/dev/null || true
      fi
    done <"$WORK/servers.txt"
    while read -r kind value; do
      [[ "$kind" == instance ]] || continue
      ids="$("$DOCKER_CLI" ps -aq --filter "label=io.mcp-sandbox.instance=$value")"
      if [[ -n "$ids" ]]; then
        echo "hostile: run containers of instance $value left after the tests: $(echo "$ids" | tr '\n' ' ')" >&2
        # shellcheck disable=SC2086  # one id per word
        "$DOCKER_CLI" rm -f $ids >/dev/null 2>&1 || true
        leftovers=1
      fi
    done <"$WORK/servers.txt"
  fi
  # The egress fixture's proxy and target containers and its networks (lib/egress.mjs), when a
  # test process died before removing them.
  ids="$("$DOCKER_CLI" ps -aq --filter "label=io.mcp-sandbox.hostile-work=$WORK")"
  # shellcheck disable=SC2086  # one id per word
  if [[ -n "$ids" ]]; then "$DOCKER_CLI" rm -f $ids >/dev/null 2>&1 || true; fi
  ids="$("$DOCKER_CLI" network ls -q --filter "label=io.mcp-sandbox.hostile-work=$WORK")"
  # shellcheck disable=SC2086  # one id per word
  if [[ -n "$ids" ]]; then "$DOCKER_CLI" network rm $ids >/dev/null 2>&1 || true; fi
  # Quota volumes a server left mounted (one killed, or a bug): a leftover too, unmounted here
  # so that neither they nor their loop devices outlive the run.
  local mounts
  mounts="$(awk -v work="$WORK/" 'index($5, work) == 1 { print $5 }' /proc/self/mountinfo | sort -r)"
  if [[ -n "$mounts" ]]; then
    echo "hostile: $(wc -l <<<"$mounts") quota volume(s) left mounted after the tests; unmounting them" >&2
    while read -r mount_point; do umount -l "$mount_point" 2>/dev/null || true; done <<<"$mounts"
    leftovers=1
  fi
  # Sandbox roots hold files owned by uid 1000 (and trees a run made deep): remove them whole.
  rm -rf "$WORK" 2>/dev/null || true
  if ((status == 0 && leftovers != 0)); then exit 1; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export MCP_HOSTILE_BIN="$BIN"
export DOCKER_CLI
export MCP_HOSTILE_WORK="$WORK"
rc=0
(cd "$HERE" && node --test --test-reporter=tap --test-concurrency=2 "$@" ./*.test.mjs) | tee "$WORK/tap.txt" || rc=$?
# A skipped case did not run: list them once more, so that none passes for one that ran.
if grep -q '# SKIP' "$WORK/tap.txt"; then
  echo "---- skipped cases (not passed): ----"
  grep -E '# SKIP' "$WORK/tap.txt" | sed -E 's/^ *(not )?ok [0-9]+ - /  /' | sort -u
fi
if ((rc != 0)); then
  for log in "$WORK"/*/server.log; do
    [[ -f "$log" ]] || continue
    echo "---- last lines of $(basename "$(dirname "$log")")'s log ----"
    tail -n 30 "$log" || true
  done
fi
# So that the output closes with node's own summary.
grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$WORK/tap.txt" || true
exit "$rc"
