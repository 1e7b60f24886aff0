#!/usr/bin/env bash
# End-to-end tests: the official MCP TypeScript SDK clients (from npm) against
# a real mcp-sandbox server and the real Docker engine.
#
#   tests/e2e/run.sh build/bin/mcp-sandbox [node --test arguments...]
#
# Installs the pinned npm packages when node_modules is missing or stale,
# starts three servers on free loopback ports (the main one, one whose
# download links live one second, for the expiry test, and one with small
# capacity and tight abuse limits), each with a fresh
# sandbox root and fresh secrets, runs the *.test.mjs files with node's test
# runner, and always stops the servers. Exit 77 (ctest: skipped) only when no
# engine answers and MCP_SANDBOX_REQUIRE_ENGINE is not 1; anything else that
# is missing is a failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
ROOT="$(cd "$HERE/../.." && pwd)"
readonly ROOT

say() { printf '==> %s\n' "$*"; }
die() { printf 'e2e: error: %s\n' "$*" >&2; exit 1; }

[[ $# -ge 1 ]] || die "usage: tests/e2e/run.sh path/to/mcp-sandbox [node --test arguments...]"
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
[[ -x "$BIN" ]] || die "$BIN is not an executable"

# shellcheck source=tests/e2e/lib/common.sh
. "$HERE/lib/common.sh"
require_engine "the end-to-end tests"
ensure_node_and_packages

# --- the servers -------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcp-e2e.XXXXXX")"
SERVER_PIDS=()
# True while a child of ours runs (an exited, unreaped child is a zombie: not running).
running() {
  local pid="$1" _name state
  [[ -r "/proc/$pid/stat" ]] || return 1
  read -r _name _name state _ <"/proc/$pid/stat" || return 1
  [[ "$state" != Z ]]
}

# Stops the servers this script started (by pid): TERM, then KILL after 10 s.
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local pid waited
  for pid in "${SERVER_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${SERVER_PIDS[@]}"; do
    waited=0
    while running "$pid" && ((waited < 100)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if running "$pid"; then
      echo "e2e: server $pid did not stop within 10 s of SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server NAME EXTRA_ARGS... : starts a server, waits for /healthz and then
# /readyz (engine answers, every runner image present), sets PORT.
start_server() {
  local name="$1"
  shift
  PORT="$(free_port)"
  mkdir -p "$WORK/$name/sandboxes"
  MCP_API_TOKEN="${SERVER_TOKENS:-$TOKEN}" FILE_SECRET="$(openssl rand -hex 32)" \
    "$BIN" serve --http-addr "127.0.0.1:$PORT" --sandbox-root "$WORK/$name/sandboxes" \
    --public-base-url "http://127.0.0.1:$PORT" "$@" >"$WORK/$name/server.log" 2>&1 &
  local pid=$!
  SERVER_PIDS+=("$pid")
  local deadline=$((SECONDS + 30))
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$PORT/healthz" || true)" == 200 ]]; do
    if ! running "$pid"; then
      cat "$WORK/$name/server.log" >&2
      die "the $name server exited before it answered /healthz"
    fi
    if ((SECONDS > deadline)); then
      cat "$WORK/$name/server.log" >&2
      die "the $name server did not answer /healthz within 30 s"
    fi
    sleep 0.1
  done
  deadline=$((SECONDS + 20))
  until curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/readyz"; do
    if ((SECONDS > deadline)); then
      die "the $name server is not ready: $(curl -s --max-time 5 "http://127.0.0.1:$PORT/readyz") (./build.sh images builds the runner images)"
    fi
    sleep 0.2
  done
}

TOKEN="$(openssl rand -hex 32)"
# A second identity on the main server: resources.test.mjs checks that one caller's conversations
# are not listed to another. The main server insists on every runner under runners/
# (languages.test.mjs runs them all).
OTHER_TOKEN="$(openssl rand -hex 32)"
ALL_RUNNERS="$(cd "$ROOT/runners" && for m in */manifest.json; do printf '%s,' "${m%/manifest.json}"; done)"
SERVER_TOKENS="$TOKEN,$OTHER_TOKEN" start_server main --required-runners "${ALL_RUNNERS%,}"
MAIN_PORT="$PORT"
start_server short-ttl --file-url-ttl 1
SHORT_TTL_PORT="$PORT"
# Small capacity and tight abuse limits (limits.test.mjs); a second token has its own call budget.
# No warm containers: the capacity case counts every container of its conversations, and an idle
# warm container started after a finished run is bounded by WARM_MAX, not by MAX_CONCURRENT_RUNS.
LIMITS_TOKEN="$(openssl rand -hex 32)"
SERVER_TOKENS="$TOKEN,$LIMITS_TOKEN" start_server limits --max-concurrent-runs 2 --max-queued-runs 2 \
  --run-queue-timeout 30 --rate-limit-calls-per-minute 40 --auth-failures-per-minute 3 \
  --http-header-timeout 2 --http-threads 24 --http-max-connections-per-peer 16 --warm-max 0
LIMITS_PORT="$PORT"
# The built-in OAuth authorization server (oauth.test.mjs, consent-page.test.mjs), static tokens beside it.
OWNER_PASSWORD="$(openssl rand -hex 16)"
OAUTH_OWNER_PASSWORD="$OWNER_PASSWORD" start_server oauth --oauth 1 --oauth-registrations-per-hour 40
OAUTH_PORT="$PORT"
say "servers: main on 127.0.0.1:$MAIN_PORT, short-ttl on 127.0.0.1:$SHORT_TTL_PORT, limits on 127.0.0.1:$LIMITS_PORT"

# --- the tests ---------------------------------------------------------------------
export MCP_E2E_URL="http://127.0.0.1:$MAIN_PORT"
export MCP_E2E_SHORT_TTL_URL="http://127.0.0.1:$SHORT_TTL_PORT"
export MCP_E2E_LIMITS_URL="http://127.0.0.1:$LIMITS_PORT"
export MCP_E2E_LIMITS_TOKEN="$LIMITS_TOKEN"
export MCP_E2E_TOKEN="$TOKEN"
export MCP_E2E_OWNER_PASSWORD="$OWNER_PASSWORD"
export MCP_E2E_OAUTH_URL="http://127.0.0.1:$OAUTH_PORT"
export MCP_E2E_OAUTH_ROOT="$WORK/oauth/sandboxes"
export MCP_E2E_OTHER_TOKEN="$OTHER_TOKEN"
export MCP_E2E_DOCKER="$DOCKER_CLI"
# For the tests that start their own servers (faults.test.mjs) and put a proxy in front of the engine.
export MCP_E2E_BIN="$BIN"
export MCP_E2E_ENGINE_HOST="${DOCKER_HOST:-unix:///var/run/docker.sock}"
rc=0
(cd "$HERE" && node --test --test-reporter=tap "$@" ./*.test.mjs) | tee "$WORK/tap.txt" || rc=$?
if ((rc != 0)); then
  for name in main short-ttl limits oauth; do
    echo "---- last lines of the $name server's log ----"
    tail -n 40 "$WORK/$name/server.log" || true
  done
  # So that the output still closes with node's own summary.
  grep -E '^# (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) ' "$WORK/tap.txt" || true
fi
exit "$rc"
