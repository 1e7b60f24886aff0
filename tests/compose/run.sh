#!/usr/bin/env bash
# Compose end-to-end test: compose/docker-compose.yml brings up the server
# image (mcp-sandbox/server:latest) with a temporary .env on a free port and a
# temporary SANDBOX_HOST_PATH; the MCP SDK client (tests/e2e's packages)
# uploads a file, plots it with matplotlib into /data and downloads the signed
# URL without the token, all through the containerized server and its sibling
# run containers. Then `down`, and no container of the project may be left.
# Before that, compose/docker-compose.cloudflare.yml must pass `config` with
# placeholder values (its image cannot be pulled here, so it is not started).
#
#   tests/compose/run.sh               # whichever compose is installed (v2 first)
#   MCP_COMPOSE=v1 tests/compose/run.sh # Debian 12's docker-compose 1.29
#   MCP_COMPOSE=v2 tests/compose/run.sh # Compose v2: the CLI plugin, or the one ./build.sh test
#                                       # fetched into COMPOSE_V2_DIR (/var/cache/mcp-sandbox/compose-v2)
#
# Exit 77 (ctest: skipped) only when no engine answers and
# MCP_SANDBOX_REQUIRE_ENGINE is not 1; anything else missing is a failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly HERE
ROOT="$(cd "$HERE/../.." && pwd)"
readonly ROOT
readonly SERVER_IMAGE=mcp-sandbox/server:latest

say() { printf '==> %s\n' "$*"; }
die() { printf 'compose test: error: %s\n' "$*" >&2; exit 1; }

# shellcheck source=tests/e2e/lib/common.sh
. "$ROOT/tests/e2e/lib/common.sh"
require_engine "the compose tests"

# The compose files must work with both: the v2 plugin and Debian's docker-compose 1.29.
v2_dir="${COMPOSE_V2_DIR:-/var/cache/mcp-sandbox/compose-v2}"
case "${MCP_COMPOSE:-any}" in
  v1)
    command -v docker-compose >/dev/null 2>&1 || die "docker-compose (1.29) is not installed (./build.sh deps installs it)"
    COMPOSE=(docker-compose) ;;
  v2)
    # The plugin beside the CLI, or the one ./build.sh test unpacked (found through DOCKER_CONFIG).
    if ! "$DOCKER_CLI" compose version >/dev/null 2>&1 && [[ -x "$v2_dir/cli-plugins/docker-compose" ]]; then
      export DOCKER_CONFIG="$v2_dir"
    fi
    "$DOCKER_CLI" compose version >/dev/null 2>&1 || die "Compose v2 is not installed (./build.sh test fetches it into $v2_dir)"
    COMPOSE=("$DOCKER_CLI" compose) ;;
  any)
    if "$DOCKER_CLI" compose version >/dev/null 2>&1; then COMPOSE=("$DOCKER_CLI" compose)
    elif command -v docker-compose >/dev/null 2>&1; then COMPOSE=(docker-compose)
    else die "neither 'docker compose' nor docker-compose is installed (./build.sh deps installs docker-compose)"; fi ;;
  *) die "MCP_COMPOSE is v1, v2 or unset, not '$MCP_COMPOSE'" ;;
esac
"$DOCKER_CLI" image inspect "$SERVER_IMAGE" >/dev/null 2>&1 ||
  die "$SERVER_IMAGE is missing (./build.sh images builds it)"

ensure_node_and_packages

# --- a throwaway copy of the compose folder beside a temporary .env ---------------
# The compose files read ../.env (env_file) and compose/.env (a link to it) for
# ${VAR}s; a copy keeps the user's own .env out of the test.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/mcp-compose.XXXXXX")"
SANDBOX="$WORK/sandboxes"
PROJECT="mcp-compose-test-$(openssl rand -hex 4)"
BIND_MOUNTED=0
mkdir -p "$SANDBOX"
cp -P -R "$ROOT/compose" "$WORK/compose"

compose() { "${COMPOSE[@]}" --project-name "$PROJECT" -f "$WORK/compose/$1" "${@:2}"; }
project_containers() { "$DOCKER_CLI" ps -aq --filter "label=com.docker.compose.project=$PROJECT"; }

# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  local rc=$?
  if [[ -f "$WORK/compose/docker-compose.yml" ]]; then
    if ((rc != 0)); then
      echo "---- last lines of the server container's log ----"
      compose docker-compose.yml logs --no-color --tail 40 server 2>&1 || true
    fi
    compose docker-compose.yml down --volumes --remove-orphans >/dev/null 2>&1 || true
  fi
  if ((BIND_MOUNTED)); then umount "$SANDBOX" 2>/dev/null || true; fi
  rm -rf "$WORK" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server binds the sandbox root with rshared propagation (so mounts it makes
# reach the engine); Docker refuses that unless the host source sits on a shared
# mount. systemd hosts have / shared; elsewhere make the temp dir its own one.
if [[ "$(findmnt -n -o PROPAGATION --target "$SANDBOX")" != shared* ]]; then
  [[ $EUID -eq 0 ]] || die "$SANDBOX is not on a shared mount and only root can make it one (mount --make-rshared)"
  mount --bind "$SANDBOX" "$SANDBOX"
  BIND_MOUNTED=1
  mount --make-rshared "$SANDBOX"
fi

PORT="$(free_port)"
# Small, so compose-flow.test.mjs can fill it quickly: the quota volumes the
# containerized server loop-mounts must be what the sibling runs write into.
QUOTA_MB=16
TOKEN="$(openssl rand -hex 32)"
cat >"$WORK/.env" <<ENV
MCP_API_TOKEN=$TOKEN
FILE_SECRET=$(openssl rand -hex 32)
SANDBOX_HOST_PATH=$SANDBOX
PUBLIC_BASE_URL=http://127.0.0.1:$PORT
MCP_PORT=$PORT
TUNNEL_TOKEN=placeholder-tunnel-token
SANDBOX_QUOTA_MB=$QUOTA_MB
SANDBOX_QUOTA_FILES=1000
ENV

# --- the Cloudflare variant: config only -----------------------------------------
say "compose: ${COMPOSE[*]} $("${COMPOSE[@]}" version --short 2>/dev/null || true)"
compose docker-compose.cloudflare.yml config >"$WORK/cloudflare.yml" ||
  die "compose/docker-compose.cloudflare.yml does not pass 'config'"
python3 "$HERE/check_cloudflare_config.py" "$WORK/cloudflare.yml" placeholder-tunnel-token
say "cloudflare: config valid, the server publishes no port, cloudflared gets TUNNEL_TOKEN"

# --- the local variant: up, SDK flow, down ----------------------------------------
say "compose: up (project $PROJECT, port $PORT, sandbox $SANDBOX)"
compose docker-compose.yml up -d --no-build
CONTAINER="$(compose docker-compose.yml ps -q server)"
[[ -n "$CONTAINER" ]] || die "compose started no server container"

# /readyz: the engine answers through the mounted socket and every runner image is there.
deadline=$((SECONDS + 60))
until curl -sf -o /dev/null --max-time 5 "http://127.0.0.1:$PORT/readyz"; do
  state="$("$DOCKER_CLI" inspect --format '{{.State.Status}}' "$CONTAINER" 2>/dev/null || echo gone)"
  [[ "$state" == running ]] || die "the server container is $state instead of running"
  ((SECONDS < deadline)) || die "the server did not become ready within 60 s: $(curl -s --max-time 5 "http://127.0.0.1:$PORT/readyz")"
  sleep 0.5
done
# The image's HEALTHCHECK (bash /dev/tcp -> /healthz) must turn the container healthy.
deadline=$((SECONDS + 60))
until [[ "$("$DOCKER_CLI" inspect --format '{{.State.Health.Status}}' "$CONTAINER")" == healthy ]]; do
  ((SECONDS < deadline)) || die "the server container is not healthy within 60 s: $("$DOCKER_CLI" inspect --format '{{json .State.Health}}' "$CONTAINER")"
  sleep 1
done
say "server: ready and healthy"
# The deployment gives the server what lending a started container to a back-to-back call needs
# (CAP_SYS_ADMIN, the sandbox root rshared): its start-up probe must have found it working.
lend_line="$("$DOCKER_CLI" logs "$CONTAINER" 2>&1 | grep -o 'WARM_LEND: .*' || true)"
[[ "$lend_line" == "WARM_LEND: on"* ]] || die "lending is not on in the compose deployment: ${lend_line:-no WARM_LEND line}"
say "server: ${lend_line%%;*}"

export MCP_E2E_URL="http://127.0.0.1:$PORT"
export MCP_E2E_SHORT_TTL_URL="$MCP_E2E_URL"
export MCP_E2E_TOKEN="$TOKEN"
export MCP_E2E_DOCKER="$DOCKER_CLI"
export MCP_COMPOSE_SANDBOX="$SANDBOX"
export MCP_COMPOSE_QUOTA_MB="$QUOTA_MB"
(cd "$HERE" && "$NODE" --test --test-reporter=tap ./*.test.mjs)

say "compose: down"
compose docker-compose.yml down --volumes --remove-orphans
left="$(project_containers)"
[[ -z "$left" ]] || die "containers left behind after down: $left"
# Run containers are the engine's, not compose's: none may still mount our sandbox.
for id in $("$DOCKER_CLI" ps -aq --filter "label=io.mcp-sandbox.kind=run"); do
  if "$DOCKER_CLI" inspect --format '{{range .Mounts}}{{.Source}} {{end}}' "$id" 2>/dev/null | grep -q "$SANDBOX"; then
    die "run container $id of this test was left behind"
  fi
done
say "compose: no container left behind"
