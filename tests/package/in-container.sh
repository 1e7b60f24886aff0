#!/usr/bin/env bash
# Runs inside a disposable bookworm container (the offline base image) as
# root, with the two packages in /pkgs: n.deb (this tree) and n1.deb (the same
# tree with the next VERSION). Installs, upgrades, removes and purges the
# package with apt, and checks each step. A fake systemctl records what the
# maintainer scripts ask of the service manager (no systemd as PID 1 here;
# run.sh checks the unit with systemd-analyze verify on the host).
# Environment: VERSION_N, VERSION_N1.
set -euo pipefail

fail() { printf 'in-container: FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf 'in-container: %s\n' "$*"; }
export DEBIAN_FRONTEND=noninteractive

# A disposable container: dpkg need not fsync.
apt_get() { apt-get -q -o Dpkg::Options::=--force-unsafe-io "$@"; }
apt_get update >/dev/null

# apt runs maintainer scripts with PATH=/usr/sbin:/usr/bin:/sbin:/bin, so the
# fake takes systemctl's own place (there is none in the base image), and
# /run/systemd/system says "systemd is running" to the scripts.
calls=/tmp/systemctl.calls
[[ ! -e /usr/bin/systemctl ]] || fail "the base image has a systemctl; this test would replace it"
cat >/usr/bin/systemctl <<'FAKE'
#!/bin/sh
echo "$*" >>/tmp/systemctl.calls
# is-enabled/is-active: a disabled, stopped unit.
case " $* " in *" is-enabled "* | *" is-active "*) exit 1 ;; esac
exit 0
FAKE
chmod 755 /usr/bin/systemctl
mkdir -p /run/systemd/system
expect_calls() { # what expected-lines...
    local what=$1 got
    shift
    got=$(cat "$calls" 2>/dev/null || true)
    [[ $got == "$(printf '%s\n' "$@" | sed '/^$/d')" ]] ||
        fail "$what: the service manager was asked for [$(echo "$got" | paste -sd ';')], expected [$(printf '%s;' "$@")]"
    : >"$calls"
}

step "install $VERSION_N: apt resolves every dependency from Debian"
apt_get install -y --no-install-recommends /pkgs/n.deb >/tmp/install.log 2>&1 || { cat /tmp/install.log; fail "apt-get install"; }
grep -q "systemctl enable --now mcp-sandbox" /tmp/install.log || fail "postinst did not print the next steps"
expect_calls "install" "--system daemon-reload"
[[ $(mcp-sandbox --version) == "mcp-sandbox $VERSION_N" ]] || fail "--version says '$(mcp-sandbox --version)'"
[[ ! -e /etc/systemd/system/multi-user.target.wants/mcp-sandbox.service ]] || fail "a first install enabled the unit"

step "the settings file is a conffile, root's, mode 600"
conf=/etc/mcp-sandbox/mcp-sandbox.conf
[[ $(stat -c '%a %U %G' "$conf") == "600 root root" ]] || fail "$conf: $(stat -c '%a %U %G' "$conf")"
dpkg-query -W -f='${Conffiles}\n' mcp-sandbox | grep -q "^ $conf " || fail "$conf is not a conffile"
grep -q '^SANDBOX_ROOT=/var/lib/mcp-sandbox/sandboxes$' "$conf" || fail "$conf lacks the default SANDBOX_ROOT"
if grep -Eq '^(MCP_API_TOKEN|FILE_SECRET)=' "$conf"; then fail "$conf carries a secret"; fi

step "the secrets are generated once, in a separate file that is no conffile"
secrets=/etc/mcp-sandbox/secrets.env
[[ $(stat -c '%a %U' "$secrets") == "600 root" ]] || fail "$secrets: $(stat -c '%a %U' "$secrets")"
grep -Eq '^MCP_API_TOKEN=[0-9a-f]{64}$' "$secrets" || fail "$secrets has no 64-hex-digit MCP_API_TOKEN"
grep -Eq '^FILE_SECRET=[0-9a-f]{64}$' "$secrets" || fail "$secrets has no 64-hex-digit FILE_SECRET"
[[ $(grep '^MCP_API_TOKEN=' "$secrets" | cut -d= -f2) != $(grep '^FILE_SECRET=' "$secrets" | cut -d= -f2) ]] ||
    fail "the two secrets are the same"
if dpkg-query -W -f='${Conffiles}\n' mcp-sandbox | grep -q secrets.env; then fail "secrets.env is a conffile"; fi
[[ $(stat -c '%a' /var/lib/mcp-sandbox) == 711 ]] || fail "/var/lib/mcp-sandbox: mode $(stat -c '%a' /var/lib/mcp-sandbox)"

unit=/lib/systemd/system/mcp-sandbox.service
grep -q '^ExecStart=/usr/bin/mcp-sandbox serve$' "$unit" || fail "$unit does not start /usr/bin/mcp-sandbox"

step "upgrade to $VERSION_N1: /etc and the state stay, the server is restarted"
echo "LOG_LEVEL=debug  # the operator's change" >>"$conf"
conf_sum=$(sha256sum <"$conf")
secrets_sum=$(sha256sum <"$secrets")
echo "conversation data" >/var/lib/mcp-sandbox/marker
apt_get install -y --no-install-recommends /pkgs/n1.deb >/tmp/upgrade.log 2>&1 || { cat /tmp/upgrade.log; fail "upgrade"; }
[[ $(mcp-sandbox --version) == "mcp-sandbox $VERSION_N1" ]] || fail "after the upgrade --version says '$(mcp-sandbox --version)'"
[[ $(sha256sum <"$conf") == "$conf_sum" ]] || fail "the upgrade changed the operator's $conf"
[[ $(stat -c '%a' "$conf") == 600 ]] || fail "the upgrade changed $conf's mode"
[[ $(sha256sum <"$secrets") == "$secrets_sum" ]] || fail "the upgrade regenerated $secrets"
[[ -f /var/lib/mcp-sandbox/marker ]] || fail "the upgrade lost the state directory"
if grep -q "systemctl enable --now" /tmp/upgrade.log; then fail "an upgrade printed the first-install steps"; fi
expect_calls "upgrade" "--system daemon-reload" "try-restart mcp-sandbox.service"

step "remove: stops the server, keeps the settings, secrets and state"
apt_get remove -y mcp-sandbox >/tmp/remove.log 2>&1 || { cat /tmp/remove.log; fail "remove"; }
# The last reload is deb-systemd-helper's, after it masked the unit (as dh's scripts do).
expect_calls "remove" "stop mcp-sandbox.service" "--system daemon-reload" "daemon-reload"
[[ ! -e /usr/bin/mcp-sandbox ]] || fail "remove left the binary"
[[ -f /var/lib/mcp-sandbox/marker && -f "$secrets" && -f "$conf" ]] || fail "remove deleted settings, secrets or state"

step "purge: unmounts what is mounted in the state directory, then deletes it and /etc/mcp-sandbox"
volume=/var/lib/mcp-sandbox/sandboxes/0123456789abcdef0123456789abcdef
mkdir -p "$volume"
mount -t tmpfs -o size=1m tmpfs "$volume"
echo "inside a mounted volume" >"$volume/file"
apt_get purge -y mcp-sandbox >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; fail "purge"; }
if findmnt -rn -o TARGET | grep -q '^/var/lib/mcp-sandbox'; then fail "purge left a mount under /var/lib/mcp-sandbox"; fi
[[ ! -e /var/lib/mcp-sandbox ]] || fail "purge left /var/lib/mcp-sandbox"
[[ ! -e /etc/mcp-sandbox ]] || fail "purge left /etc/mcp-sandbox: $(ls -A /etc/mcp-sandbox)"
# deb-systemd-helper reloads after lifting that mask.
expect_calls "purge" "daemon-reload"
step "ok"
