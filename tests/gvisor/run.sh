#!/usr/bin/env bash
# Manual check of RUNNER_RUNTIME=runsc (gVisor) — not part of CI.
#
#   tests/gvisor/run.sh build/bin/mcp-sandbox
#
# Starts a disposable containerd + dockerd of its own (own sockets, data and
# exec roots, pidfiles, no bridge, no iptables) with Debian's runsc registered
# as "runsc" ("--network=none", as gVisor needs here), loads the bash runner
# image into it, then: `mcp-sandbox doctor` with RUNNER_RUNTIME=runsc, the
# same with a runtime the engine lacks (must fail loudly), and a timing /
# pids / memory comparison of runc and runsc. Never touches the shared engine;
# everything it started is stopped by pid and its directory removed.
set -euo pipefail

die() { printf 'gvisor: error: %s\n' "$*" >&2; exit 1; }
[[ $# -eq 1 && -x "$1" ]] || die "usage: tests/gvisor/run.sh path/to/mcp-sandbox"
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
RUNSC="$(command -v runsc || true)"
[[ -n "$RUNSC" ]] || die "runsc is not installed (Debian: apt-get install runsc)"
IMAGE=mcp-sandbox/runner-bash:latest
docker image inspect "$IMAGE" >/dev/null || die "$IMAGE is missing: ./build.sh images"

WORK="$(mktemp -d /tmp/mcp-gvisor.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  umount -R "$WORK" 2>/dev/null || true
  rm -rf "$WORK" 2>/dev/null || true
}
trap cleanup EXIT

cat >"$WORK/daemon.json" <<JSON
{ "runtimes": { "runsc": { "path": "$RUNSC", "runtimeArgs": ["--network=none"] } } }
JSON
containerd --address "$WORK/containerd.sock" --root "$WORK/containerd-root" --state "$WORK/containerd-state" \
  >"$WORK/containerd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -S "$WORK/containerd.sock" ]] && break; sleep 0.1; done
dockerd -H "unix://$WORK/docker.sock" --containerd "$WORK/containerd.sock" --data-root "$WORK/data" \
  --exec-root "$WORK/exec" --pidfile "$WORK/docker.pid" --bridge=none --iptables=false --ip-masq=false \
  --config-file "$WORK/daemon.json" >"$WORK/dockerd.log" 2>&1 &
PIDS+=($!)
export DOCKER_HOST="unix://$WORK/docker.sock"
for _ in $(seq 300); do docker info >/dev/null 2>&1 && break; sleep 0.1; done
docker info >/dev/null 2>&1 || { tail -20 "$WORK/dockerd.log"; die "the disposable dockerd did not start"; }
echo "==> disposable engine at $DOCKER_HOST, runtimes: $(docker info --format '{{range $k, $v := .Runtimes}}{{$k}} {{end}}')"
DOCKER_HOST=unix:///var/run/docker.sock docker save "$IMAGE" | docker load >/dev/null

mkdir -p "$WORK/sandboxes"
common=(MCP_API_TOKEN="$(openssl rand -hex 32)" FILE_SECRET="$(openssl rand -hex 32)" REQUIRED_RUNNERS=bash
  SANDBOX_ROOT="$WORK/sandboxes" RUN_PIDS_LIMIT=256)
echo "==> doctor, RUNNER_RUNTIME=runsc"
# Under gVisor the probe cannot read the host's cgroup files or /sys/class/net
# (its own kernel answers), so only the runtime check and a probe run that
# wrote into /data are required here, not the limits line.
report="$(env "${common[@]}" RUNNER_RUNTIME=runsc "$BIN" doctor || true)"
echo "$report"
grep -q '^ok    runtime' <<<"$report" || die "doctor did not accept runsc"
grep -q '^ok    sandbox' <<<"$report" || die "the probe run under runsc did not write into /data"
echo "==> doctor, RUNNER_RUNTIME=kata (not registered): must fail"
if env "${common[@]}" RUNNER_RUNTIME=kata "$BIN" doctor; then die "doctor passed with an unregistered runtime"; fi

# Per-run cost (docker run, the same for both), the pids a few guest processes
# take against the limit, and what the memory cgroup is charged at idle.
measure() {
  local runtime="$1" start end
  local -a times=()
  for _ in 1 2 3 4 5 6 7; do
    start=$(date +%s%N)
    docker run --rm --runtime "$runtime" --network none --entrypoint /bin/true "$IMAGE" >/dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 4p)
  local id
  id=$(docker run -d --runtime "$runtime" --network none --pids-limit 256 -m 256m --entrypoint /bin/sh "$IMAGE" \
    -c 'sleep 1000 & sleep 1000 & sleep 1000 & sleep 1000 & sleep 1000 & wait')
  sleep 2
  local pids mem
  pids=$(cat "/sys/fs/cgroup/pids/docker/$id/pids.current" 2>/dev/null || echo "?")
  mem=$(cat "/sys/fs/cgroup/memory/docker/$id/memory.usage_in_bytes" 2>/dev/null || echo 0)
  docker rm -f "$id" >/dev/null
  printf '%-6s median run %4s ms | pids with 6 guest processes: %s | memory charged at idle: %s MiB\n' \
    "$runtime" "$median" "$pids" "$((mem / 1048576))"
}
echo "==> per-run cost, pids and memory (bash image, 7 runs each)"
measure runc
measure runsc
