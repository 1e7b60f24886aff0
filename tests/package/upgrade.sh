#!/usr/bin/env bash
# The upgrade test against the real engine: the previous release's server
# (from its package's contents) stores a file in a conversation under a
# temporary state directory and stops; the next release's server starts on
# the same state and must still list and serve the file, and keep the
# instance id. Quota volumes are on (the default), so the state includes the
# ext4 images the next server must mount again.
#
#   tests/package/upgrade.sh <root of package N> <version N> <root of package N+1> <version N+1> <work dir>
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
old_root=$1 old_version=$2 new_root=$3 new_version=$4 work=$5
mkdir -p "$work"
work="$(cd "$work" && pwd)"
die() { printf 'upgrade: FAIL: %s\n' "$*" >&2; exit 1; }

state="$work/state"
mkdir -p "$state"
port="$(node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });')"
base="http://127.0.0.1:$port"
token="$(od -An -v -N32 -tx1 /dev/urandom | tr -d ' \n')"
export MCP_HTTP_ADDR="127.0.0.1:$port" PUBLIC_BASE_URL="$base" MCP_API_TOKEN="$token"
export FILE_SECRET="$(od -An -v -N32 -tx1 /dev/urandom | tr -d ' \n')"
export SANDBOX_ROOT="$state/sandboxes" SANDBOX_QUOTA_MB=16 SANDBOX_QUOTA_FILES=1000 WARM_MAX=0 REQUIRED_RUNNERS=bash LOG_LEVEL=warn

server_pid=
stop_server() { # expects a clean exit
  [[ -n $server_pid ]] || return 0
  kill -TERM "$server_pid"
  local status=0
  wait "$server_pid" || status=$?
  server_pid=
  [[ $status -eq 0 ]] || die "the server exited $status on SIGTERM (log: $work/server-*.log)"
}
cleanup() {
  if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

# Starts a server and returns once /healthz answers (its start-up includes a
# probe run on the real engine); fails as soon as the process exits instead.
start_server() { # binary log
  "$1" serve >"$2" 2>&1 &
  server_pid=$!
  local tries=0
  until curl -fs -o /dev/null --max-time 2 "$base/healthz"; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$2" >&2; server_pid=; die "$1 exited during start-up"; }
    (( ++tries <= 600 )) || die "$1 did not answer /healthz within 60 s"
    sleep 0.1  # polling a port that is not open yet; the loop ends on the answer
  done
}

mounts_below_state() { findmnt -rn -o TARGET | grep -c "^$state/" || true; }

"$old_root/usr/bin/mcp-sandbox" --version | grep -qx "mcp-sandbox $old_version" || die "package N is not $old_version"
"$new_root/usr/bin/mcp-sandbox" --version | grep -qx "mcp-sandbox $new_version" || die "package N+1 is not $new_version"

start_server "$old_root/usr/bin/mcp-sandbox" "$work/server-old.log"
node "$here/upgrade-client.mjs" write "$base" "$token" "$old_version" "$work/conversation.json"
instance_id="$(cat "$SANDBOX_ROOT/.instance-id")"
stop_server
[[ $(mounts_below_state) -eq 0 ]] || die "$old_version left quota volumes mounted after SIGTERM"
ls "$SANDBOX_ROOT/.images/"*.ext4 >/dev/null 2>&1 || die "$old_version wrote no quota volume image"

start_server "$new_root/usr/bin/mcp-sandbox" "$work/server-new.log"
node "$here/upgrade-client.mjs" check "$base" "$token" "$new_version" "$work/conversation.json"
[[ $(cat "$SANDBOX_ROOT/.instance-id") == "$instance_id" ]] || die "the instance id changed across the upgrade"
stop_server
[[ $(mounts_below_state) -eq 0 ]] || die "$new_version left quota volumes mounted after SIGTERM"
echo "upgrade: $old_version -> $new_version kept the conversation, its file, its link and the instance id"
