#!/usr/bin/env bash
# The gVisor suite: RUNNER_RUNTIME=runsc end to end, in an engine of its own.
#
#   tests/gvisor/run.sh build/bin/mcp-sandbox [node --test arguments...]
#
# Starts a disposable containerd + dockerd (own sockets, data and exec roots,
# pidfile, a bridge of its own, no iptables) with Debian's runsc registered as "runsc"
# ("--network=none", as gVisor needs here) and loads the runner images into
# it from the engine DOCKER_HOST names. Never touches that engine's
# configuration. Then:
#   1. `doctor` under runsc passes, confirming the limits from outside (the
#      runtime hides cgroups from the program); under runc in the same engine
#      it passes from both sides; an unregistered runtime fails.
#   2. an MCP server with RUNNER_RUNTIME=runsc and the MCP SDK client run
#      gvisor.test.mjs: every default language, warm containers, the quota,
#      progress, cancellation, the deadline and out-of-memory.
#   3. measures (prints, does not judge) what gVisor costs: a run through
#      the server under runc and under runsc (cold, from the new-conversation
#      pool, warm), and an idle warm container.
# Everything it started is stopped by pid and its directory removed.
# Needs root, runsc, containerd, dockerd, node >= 20 and the runner images.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
say() { printf '==> gvisor: %s\n' "$*"; }
die() { printf 'gvisor: error: %s\n' "$*" >&2; exit 1; }
[[ $# -ge 1 && -x "$1" ]] || die "usage: tests/gvisor/run.sh path/to/mcp-sandbox [node --test arguments...]"
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
shift
[[ $EUID -eq 0 ]] || die "needs root (a dockerd of its own, loop-mounted quota volumes)"
RUNSC="$(command -v runsc || true)"
[[ -n "$RUNSC" ]] || die "runsc is not installed (./build.sh deps, or apt-get install runsc)"
command -v containerd >/dev/null && command -v dockerd >/dev/null || die "containerd and dockerd are needed"
# shellcheck source=tests/e2e/lib/common.sh
. "$ROOT/tests/e2e/lib/common.sh"
require_engine "the gVisor suite"
ensure_node_and_packages
SOURCE_ENGINE="${DOCKER_HOST:-unix:///var/run/docker.sock}"
IMAGES=(mcp-sandbox/runner-python:latest mcp-sandbox/runner-typescript:latest mcp-sandbox/runner-javascript:latest
  mcp-sandbox/runner-bash:latest)
for image in "${IMAGES[@]}"; do
  "$DOCKER_CLI" image inspect "$image" >/dev/null 2>&1 || die "$image is missing: ./build.sh images"
done

WORK="$(mktemp -d /tmp/mcp-gvisor.XXXXXX)"
PIDS=()
running() { [[ -r "/proc/$1/stat" ]] && [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]]; }
stop_pid() {
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 150); do running "$1" || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
# shellcheck disable=SC2317  # the EXIT trap
cleanup() {
  local i
  # Servers first (they remove their containers), then dockerd, then containerd.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[i]}"; done
  [[ -z "${BRIDGE:-}" ]] || ip link delete "$BRIDGE" 2>/dev/null || true
  { grep -o " $WORK[^ ]*" /proc/mounts || true; } | sort -r | while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the disposable engine -----------------------------------------------------------
started=$SECONDS
cat >"$WORK/daemon.json" <<JSON
{ "runtimes": { "runsc": { "path": "$RUNSC", "runtimeArgs": ["--network=none"] } } }
JSON
# A bridge of its own: dockerd given --bridge=none deletes the host's docker0
# at start-up, which would take the shared engine's default network away.
# Runs never use it (NetworkDisabled); the engine only needs one to start.
BRIDGE="mcpgv$(openssl rand -hex 3)"
ip link add "$BRIDGE" type bridge
ip addr add 169.254.213.1/30 dev "$BRIDGE"
containerd --address "$WORK/containerd.sock" --root "$WORK/containerd-root" --state "$WORK/containerd-state" \
  >"$WORK/containerd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -S "$WORK/containerd.sock" ]] && break; sleep 0.1; done
dockerd -H "unix://$WORK/docker.sock" --containerd "$WORK/containerd.sock" --data-root "$WORK/data" \
  --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" --bridge="$BRIDGE" --iptables=false --ip-masq=false \
  --config-file "$WORK/daemon.json" >"$WORK/dockerd.log" 2>&1 &
PIDS+=($!)
export DOCKER_HOST="unix://$WORK/docker.sock"
for _ in $(seq 300); do "$DOCKER_CLI" info >/dev/null 2>&1 && break; sleep 0.1; done
"$DOCKER_CLI" info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; die "the disposable dockerd did not start"; }
DOCKER_HOST="$SOURCE_ENGINE" "$DOCKER_CLI" save "${IMAGES[@]}" | "$DOCKER_CLI" load >/dev/null
say "engine at $DOCKER_HOST with runtimes $("$DOCKER_CLI" info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')and the runner images in $((SECONDS - started)) s"

# --- doctor ----------------------------------------------------------------------------
TOKEN="$(openssl rand -hex 32)"
QUOTA_MB=16
common=(MCP_API_TOKEN="$TOKEN" FILE_SECRET="$(openssl rand -hex 32)" DOCKER_HOST="$DOCKER_HOST"
  SANDBOX_QUOTA_MB="$QUOTA_MB" SANDBOX_QUOTA_FILES=4096)
doctor() { # runtime -> the report in $WORK/doctor-<runtime>.txt; returns doctor's status
  mkdir -p "$WORK/doctor-$1"
  env "${common[@]}" RUNNER_RUNTIME="$1" SANDBOX_ROOT="$WORK/doctor-$1" "$BIN" doctor >"$WORK/doctor-$1.txt" 2>&1
}
for runtime in runsc runc; do
  started=$SECONDS
  doctor "$runtime" || { cat "$WORK/doctor-$runtime.txt"; die "doctor failed under $runtime"; }
  grep '^ok    limits\|^ok    isolation' "$WORK/doctor-$runtime.txt" | sed "s/^/    [$runtime] /"
  say "doctor passed under $runtime ($((SECONDS - started)) s)"
done
# The two ways of confirming: from outside only under gVisor, from both sides under runc.
grep -q '^ok    limits .*the engine.s stats.*the runtime hides cgroups from the program' "$WORK/doctor-runsc.txt" ||
  die "doctor under runsc did not confirm the limits through the engine's stats"
grep -q '^ok    limits .*cgroup v[12] files and the engine.s stats' "$WORK/doctor-runc.txt" ||
  die "doctor under runc did not confirm the limits from both sides"
if doctor kata; then die "doctor passed with a runtime the engine does not have"; fi
grep -q "^FAIL  runtime .*'kata' is not registered" "$WORK/doctor-kata.txt" || { cat "$WORK/doctor-kata.txt"; die "no runtime FAIL line for kata"; }
say "doctor fails with an unregistered runtime, as it must"

# --- the MCP server under runsc ------------------------------------------------------
# start_server NAME RUNTIME EXTRA_ARGS...: sets PORT once /readyz answers 200.
start_server() {
  local name="$1" runtime="$2"
  shift 2
  PORT="$(free_port)"
  mkdir -p "$WORK/$name/sandboxes"
  env "${common[@]}" RUNNER_RUNTIME="$runtime" "$BIN" serve --http-addr "127.0.0.1:$PORT" \
    --sandbox-root "$WORK/$name/sandboxes" --public-base-url "http://127.0.0.1:$PORT" "$@" \
    >"$WORK/$name/server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  local deadline=$((SECONDS + 60))
  until curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/readyz"; do
    running "$pid" || { cat "$WORK/$name/server.log" >&2; die "the $name server exited"; }
    ((SECONDS < deadline)) || { cat "$WORK/$name/server.log" >&2; die "the $name server was not ready within 60 s"; }
    sleep 0.2
  done
}
started=$SECONDS
start_server runsc runsc --warm-max 64
# gVisor's kernel never sees a mount made after a container started: the start-up probe must find
# that and keep lending off (docs/performance.md, "Back-to-back calls borrow a started container").
lend_line="$(grep -o 'WARM_LEND: .*' "$WORK/runsc/server.log" || true)"
say "runsc server: ${lend_line:-no WARM_LEND line}"
[[ "$lend_line" == "WARM_LEND: off here (a mount made after the container started did not reach it"* ]] ||
  die "under runsc the lending probe must see the mount not arrive; the server said: ${lend_line:-nothing}"
export MCP_E2E_URL="http://127.0.0.1:$PORT" MCP_E2E_SHORT_TTL_URL="http://127.0.0.1:$PORT" MCP_E2E_TOKEN="$TOKEN"
export MCP_E2E_DOCKER="$DOCKER_CLI" MCP_GVISOR_QUOTA_MB="$QUOTA_MB"
rc=0
(cd "$HERE" && node --test --test-reporter=tap "$@" ./gvisor.test.mjs) >"$WORK/tap.txt" 2>&1 || rc=$?
grep -E '^(not )?ok |^# (tests|pass|fail) ' "$WORK/tap.txt" | sed 's/^/    /'
if ((rc != 0)); then
  cat "$WORK/tap.txt"
  tail -n 40 "$WORK/runsc/server.log"
  die "the MCP tests under runsc failed"
fi
say "MCP end to end under runsc passed ($((SECONDS - started)) s)"

# --- what it costs (measured, not judged) --------------------------------------------
started=$SECONDS
# A first call is cold only where no container waits for new conversations.
start_server runc-cold runc --warm-max 64 --warm-new-per-language 0
RUNC_COLD="http://127.0.0.1:$PORT"
start_server runsc-cold runsc --warm-max 64 --warm-new-per-language 0
RUNSC_COLD="http://127.0.0.1:$PORT"
start_server runc runc --warm-max 64
grep -q 'WARM_LEND: on' "$WORK/runc/server.log" ||
  die "under runc, in the same engine, lending must be on: $(grep -o 'WARM_LEND: .*' "$WORK/runc/server.log" || echo 'no WARM_LEND line')"
node "$HERE/measure.mjs" "$RUNC_COLD" "$RUNSC_COLD" "http://127.0.0.1:$PORT" "$MCP_E2E_URL" | sed 's/^/    /'
# Each server now keeps its last conversation's next container warm (idle):
# what the memory cgroup is charged, and the host memory (PSS) of the
# container's processes with their shim.
pss_kib() { # pid... -> the PSS of these processes and all their descendants, KiB
  local pid total=0 kib
  for pid in "$@"; do
    kib=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kib:-0}))
    # shellcheck disable=SC2046
    total=$((total + $(pss_kib $(cat /proc/"$pid"/task/*/children 2>/dev/null))))
  done
  echo "$total"
}
# A used container is removed in the background once its answer is out, so one may still be
# listed here and gone (or without stats) a moment later: it is skipped.
for id in $("$DOCKER_CLI" ps -q --filter label=io.mcp-sandbox.kind=run); do
  read -r runtime pid < <("$DOCKER_CLI" inspect -f '{{.HostConfig.Runtime}} {{.State.Pid}}' "$id" 2>/dev/null) || continue
  shim=$(awk '{print $4}' "/proc/$pid/stat" 2>/dev/null) || continue
  [[ -n $shim ]] || continue
  charged=$(curl -s --unix-socket "$WORK/docker.sock" "http://engine/containers/$id/stats?stream=0&one-shot=1" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const usage = JSON.parse(s || "{}").memory_stats?.usage;
      console.log(usage === undefined ? "" : usage >> 10);
    })') || continue
  [[ -n $charged ]] || continue
  echo "$runtime $charged $(pss_kib "$shim")"
done >"$WORK/idle.txt"
median_mib() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", v[int((NR + 1) / 2)] / 1024 }'; }
for runtime in runc runsc; do
  printf '    idle warm container under %-5s: memory cgroup charged %s MiB, host PSS with its shim %s MiB (medians of %s)\n' \
    "$runtime" "$(awk -v r="$runtime" '$1 == r {print $2}' "$WORK/idle.txt" | median_mib)" \
    "$(awk -v r="$runtime" '$1 == r {print $3}' "$WORK/idle.txt" | median_mib)" "$(grep -c "^$runtime " "$WORK/idle.txt")"
done
say "measured in $((SECONDS - started)) s"
