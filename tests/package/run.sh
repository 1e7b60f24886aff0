#!/usr/bin/env bash
# The Debian package, end to end (ctest "package"; docs/release.md):
#  1. cpack makes package N from the build directory, and package N+1 from a
#     copy of the source tree with the next patch VERSION (the same sources:
#     ccache makes that build cheap);
#  2. lintian finds no errors in N; dpkg-deb -c shows the docs, the unit and
#     the conffile with its mode (the base image drops /usr/share/doc on install);
#     systemd-analyze verify accepts the unit;
#  3. in a disposable bookworm container from the offline base image:
#     install, upgrade, remove and purge with apt (tests/package/in-container.sh);
#  4. the upgrade against the real engine (tests/package/upgrade.sh).
# Skips (77) only when no engine answers and MCP_SANDBOX_REQUIRE_ENGINE is unset.
#
#   tests/package/run.sh <build dir>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/tests/package"
BUILD_DIR="$(cd "$1" && pwd)"
WORK="$BUILD_DIR/package-test"
BASE_IMAGE=mcp-sandbox/base:bookworm

die() { printf 'package: FAIL: %s\n' "$*" >&2; exit 1; }
say() { printf '==> package: %s\n' "$*"; }
# shellcheck source=../e2e/lib/common.sh
. "$ROOT/tests/e2e/lib/common.sh"
require_engine "the package tests"
command -v lintian >/dev/null || die "lintian is not installed (./build.sh deps installs it)"
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps is not installed (dpkg-dev)"
"$DOCKER_CLI" image inspect "$BASE_IMAGE" >/dev/null 2>&1 || die "no $BASE_IMAGE image (./build.sh images makes it)"

started=$(date +%s)
lap() { echo "$(( $(date +%s) - started )) s"; }
# A run that was killed may have left a quota volume mounted in its state:
# unmount before deleting, never delete through a mount.
findmnt -rn -o TARGET | grep "^$WORK/" | sort -r | xargs -r -n 1 umount 2>/dev/null || true
rm -rf --one-file-system "$WORK"
mkdir -p "$WORK/out-n" "$WORK/out-n1"

version_n="$(head -n 1 "$ROOT/VERSION")"
IFS=. read -r major minor patch <<<"$version_n"
version_n1="$major.$minor.$((patch + 1))"

cpack_into() { # build-dir out-dir
  (cd "$1" && cpack -G DEB -B "$2" >"$2/cpack.log" 2>&1) || { cat "$2/cpack.log" >&2; die "cpack in $1 failed"; }
}

say "package $version_n from $BUILD_DIR"
cpack_into "$BUILD_DIR" "$WORK/out-n"
deb_n="$WORK/out-n/mcp-sandbox_${version_n}_amd64.deb"
[[ -f $deb_n ]] || die "cpack made no $(basename "$deb_n")"

say "package $version_n1: the same tree with VERSION $version_n1 ($(lap))"
src="$WORK/src"
mkdir -p "$src"
# The working tree as it is (uncommitted changes included), without what git ignores.
(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard -- . ':!tests' ':!bench' ':!runners' |
  while IFS= read -r -d '' path; do [[ -e $path ]] && printf '%s\0' "$path"; done |
  xargs -0 -r tar -cf - --no-recursion) | tar -xf - -C "$src"
echo "$version_n1" >"$src/VERSION"
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
build_type="$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD_DIR/CMakeCache.txt")"
# ccache keys on paths relative to the tree, so the copy hits the main build's entries.
CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1 cmake -S "$src" -B "$src/build" -G Ninja "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE="${build_type:-RelWithDebInfo}" -DMCP_SANDBOX_TESTS=OFF >"$WORK/build-n1.log" 2>&1 ||
  { cat "$WORK/build-n1.log" >&2; die "configuring the $version_n1 tree failed"; }
CCACHE_BASEDIR="$src" CCACHE_NOHASHDIR=1 cmake --build "$src/build" --target mcp-sandbox >>"$WORK/build-n1.log" 2>&1 ||
  { tail -n 40 "$WORK/build-n1.log" >&2; die "building the $version_n1 tree failed"; }
cpack_into "$src/build" "$WORK/out-n1"
deb_n1="$WORK/out-n1/mcp-sandbox_${version_n1}_amd64.deb"
[[ -f $deb_n1 ]] || die "cpack made no $(basename "$deb_n1")"

say "control fields and contents ($(lap))"
field() { dpkg-deb -f "$deb_n" "$1"; }
[[ $(field Package) == mcp-sandbox && $(field Version) == "$version_n" && $(field Architecture) == amd64 ]] ||
  die "control: $(field Package) $(field Version) $(field Architecture)"
depends="$(field Depends)"
for needed in libc6 libcurl4 libssl3 e2fsprogs mount ca-certificates; do
  [[ ", $depends," == *", $needed"[\ ,]* ]] || die "Depends lacks $needed: $depends"
done
[[ $(field Recommends) == "docker.io | docker-ce" ]] || die "Recommends: $(field Recommends)"
contents="$(dpkg-deb -c "$deb_n")"
expect_entry() { # mode-and-owner path
  grep -Eq "^$1 +[0-9]+ [0-9-]+ [0-9:]+ \\.$2\$" <<<"$contents" || die "the package has no $1 $2"
}
expect_entry '-rwxr-xr-x root/root' /usr/bin/mcp-sandbox
expect_entry '-rw-r--r-- root/root' /lib/systemd/system/mcp-sandbox.service
expect_entry '-rw------- root/root' /etc/mcp-sandbox/mcp-sandbox.conf
for doc in copyright changelog.gz CHANGELOG.md.gz README.md docs/deployment.md docs/operations.md docs/configuration.md \
  docs/licenses.md docs/release.md; do
  expect_entry '-rw-r--r-- root/root' "/usr/share/doc/mcp-sandbox/$doc"
done
if grep -Eq '\./(var|etc/mcp-sandbox/secrets)' <<<"$contents"; then die "the package ships state or secrets"; fi
dpkg-deb --ctrl-tarfile "$deb_n" | tar -t | grep -qx './conffiles' || die "no conffiles in the control archive"
[[ $(dpkg-deb -I "$deb_n" conffiles) == /etc/mcp-sandbox/mcp-sandbox.conf ]] || die "conffiles: $(dpkg-deb -I "$deb_n" conffiles)"

say "systemd-analyze verify: the unit in the package's tree, docker.service stubbed ($(lap))"
command -v systemd-analyze >/dev/null || die "systemd-analyze is not installed (systemd)"
unit_root="$WORK/unit-root"
dpkg-deb -x "$deb_n" "$unit_root"
# The host's own units (targets, sockets) so that the dependency graph resolves;
# its engine's unit is left out and replaced by a stub.
mkdir -p "$unit_root/etc/systemd/system"
for unit in /lib/systemd/system/*; do
  case "${unit##*/}" in docker.* | mcp-sandbox.*) ;; *) cp -a "$unit" "$unit_root/lib/systemd/system/" ;; esac
done
printf '[Unit]\nDescription=stub of the Docker engine\n[Service]\nExecStart=/bin/true\n' \
  >"$unit_root/etc/systemd/system/docker.service"
verify_out="$(SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --root="$unit_root" /lib/systemd/system/mcp-sandbox.service 2>&1)" ||
  { echo "$verify_out" >&2; die "systemd-analyze verify refused the unit"; }
[[ -z $verify_out ]] || { echo "$verify_out" >&2; die "systemd-analyze verify warned about the unit"; }

say "lintian ($(lap))"
# --fail-on error: warnings are reported (docs/release.md explains each) but do not fail.
lintian --fail-on error --tag-display-limit 0 "$deb_n" | tee "$WORK/lintian.log" ||
  die "lintian found errors in $(basename "$deb_n")"

say "install, upgrade, remove, purge in a disposable bookworm container ($(lap))"
cp "$deb_n" "$WORK/n.deb"
cp "$deb_n1" "$WORK/n1.deb"
# CAP_SYS_ADMIN only to mount a stand-in volume that purge must unmount.
"$DOCKER_CLI" run --rm --cap-add SYS_ADMIN --security-opt apparmor=unconfined \
  -e VERSION_N="$version_n" -e VERSION_N1="$version_n1" \
  -v "$WORK/n.deb:/pkgs/n.deb:ro" -v "$WORK/n1.deb:/pkgs/n1.deb:ro" -v "$HERE/in-container.sh:/in-container.sh:ro" \
  "$BASE_IMAGE" /in-container.sh || die "the package misbehaved in the container (above)"

say "upgrade $version_n -> $version_n1 against the real engine ($(lap))"
dpkg-deb -x "$deb_n" "$WORK/root-n"
dpkg-deb -x "$deb_n1" "$WORK/root-n1"
"$HERE/upgrade.sh" "$WORK/root-n" "$version_n" "$WORK/root-n1" "$version_n1" "$WORK/upgrade"

say "ok in $(lap)"
rm -rf "$WORK/src" "$src/build" "$WORK/root-n" "$WORK/root-n1" "$unit_root"
