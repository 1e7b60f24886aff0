#!/usr/bin/env bash
# The one entry point: ./build.sh [deps|engine|build|images [all|lang,...]|serve|doctor|test|sanitize|fuzz|bench]...
# With no verb: deps + engine + build + images. Re-running is fast when nothing changed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
BIN="$BUILD_DIR/bin/mcp-sandbox"
ENV_FILE="${ENV_FILE:-$ROOT/.env}"

# Debian package names, by purpose. deps installs whatever is missing.
# python3 runs the dependency-rule check (tests/deps) among the tests.
BUILD_PACKAGES=(cmake g++ make ninja-build pkg-config clang libclang-rt-14-dev ccache
  libcpp-httplib-dev nlohmann-json3-dev libcurl4-openssl-dev libspdlog-dev libcli11-dev
  prometheus-cpp-dev catch2 libssl-dev libexpected-dev libsqlite3-dev python3)
RUNTIME_PACKAGES=(mmdebstrap openssl curl ca-certificates libatomic1 runsc)
# Only ./build.sh bench needs these (HTTP load generator; the harness is Python).
BENCH_PACKAGES=(wrk python3)
# ./build.sh package and its test: dpkg-shlibdeps computes Depends, lintian checks the package.
PACKAGE_PACKAGES=(dpkg-dev lintian)
# ./build.sh test: a real browser for the pages a person sees (the OAuth consent page).
TEST_PACKAGES=(chromium)

# Docker Compose v2 for the compose test, beside Debian 12's 1.29 (the compose files must pass
# both): Debian 13's package, unpacked here, never installed; tests/compose/run.sh finds it.
COMPOSE_V2_DIR="${COMPOSE_V2_DIR:-/var/cache/mcp-sandbox/compose-v2}"

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# The CLI the scripts use: Debian's docker.io puts it in /usr/bin.
docker_cli() {
  if [[ -n "${DOCKER:-}" ]]; then echo "$DOCKER"; elif [[ -x /usr/bin/docker ]]; then echo /usr/bin/docker; else echo docker; fi
}

engine_answers() { "$(docker_cli)" info >/dev/null 2>&1; }

missing_packages() {
  local pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

cmd_deps() {
  local wanted=("${BUILD_PACKAGES[@]}" "${RUNTIME_PACKAGES[@]}" "$@")
  # An engine from elsewhere (docker-ce, Docker Desktop) is fine; only install
  # Debian's when there is neither a daemon binary nor a reachable engine.
  if ! have dockerd && ! engine_answers; then wanted+=(docker.io); fi
  # npm fetches the TypeScript/JavaScript runtimes for the runner images.
  if ! have npm; then wanted+=(npm); fi
  # The compose test (and compose/*.yml users) need either compose; Debian has 1.29.
  if ! have docker-compose && ! "$(docker_cli)" compose version >/dev/null 2>&1; then wanted+=(docker-compose); fi

  if ! have dpkg-query; then
    say "not a Debian/Ubuntu system: install the equivalents of: ${wanted[*]}"
    return 0
  fi
  local missing
  missing=$(missing_packages "${wanted[@]}" | tr '\n' ' ')
  if [[ -z "${missing// /}" ]]; then
    say "deps: all packages present"
    return 0
  fi
  if [[ $EUID -ne 0 ]] || ! have apt-get; then
    die "missing packages; install them with: sudo apt-get install -y $missing"
  fi
  say "deps: installing $missing"
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing >/dev/null
  say "deps: installed"
}

# Fetches Debian 13's docker-compose (Compose v2) into $COMPOSE_V2_DIR/cli-plugins, with apt's
# own state kept in that folder: the host's apt configuration and packages stay as they are. The
# trixie sources are derived from the host's (images/host-sources.sh).
compose_v2_plugin() {
  local plugin="$COMPOSE_V2_DIR/cli-plugins/docker-compose"
  if [[ -x "$plugin" ]] || "$(docker_cli)" compose version >/dev/null 2>&1; then return 0; fi
  if [[ $EUID -ne 0 ]] || ! have apt-get || ! have dpkg-deb; then
    die "the compose test needs Compose v2: install it (docker compose), or run ./build.sh test as root on Debian"
  fi
  # shellcheck source=images/host-sources.sh
  . "$ROOT/images/host-sources.sh"
  local apt="$COMPOSE_V2_DIR/apt" entries
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$apt/parts" "$COMPOSE_V2_DIR/cli-plugins"
  entries="$(host_sources_for trixie release-only | sed 's|^deb |deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] |')"
  [[ -n "$entries" ]] || die "Compose v2 comes from Debian 13 (trixie), but the host has no Debian apt sources to derive it from"
  printf '%s\n' "$entries" >"$apt/trixie.list"
  local options=(-o "Dir::Etc::SourceList=$apt/trixie.list" -o "Dir::Etc::SourceParts=$apt/parts"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::Archives=$apt/archives" -o "APT::Sandbox::User=root")
  say "deps: fetching Docker Compose v2 (Debian 13's docker-compose) for the compose test"
  apt-get "${options[@]}" -q update >/dev/null || die "cannot read the trixie package lists (see $apt/trixie.list)"
  (cd "$apt/archives" && apt-get "${options[@]}" -q download docker-compose >/dev/null) ||
    die "cannot download trixie's docker-compose"
  local unpacked="$apt/unpacked"
  rm -rf "$unpacked"
  dpkg-deb -x "$apt"/archives/docker-compose_*.deb "$unpacked"
  install -m 0755 "$unpacked/usr/libexec/docker/cli-plugins/docker-compose" "$plugin"
  rm -rf "$unpacked" "$apt/archives"/*.deb
  say "deps: $("$plugin" version 2>/dev/null || echo "docker-compose v2") in $COMPOSE_V2_DIR"
}

cmd_engine() {
  if engine_answers; then
    say "engine: Docker $("$(docker_cli)" version --format '{{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null) answers"
    return 0
  fi
  if [[ -n "${DOCKER_HOST:-}" && "${DOCKER_HOST}" != unix:///var/run/docker.sock ]]; then
    die "no engine answers at DOCKER_HOST=$DOCKER_HOST"
  fi
  have dockerd || die "no Docker engine answers and dockerd is not installed (run ./build.sh deps)"
  [[ $EUID -eq 0 ]] || die "no Docker engine answers; start it (sudo systemctl start docker) or run this as root"
  mkdir -p "$BUILD_DIR"
  say "engine: none answers; starting dockerd in the background (log: $BUILD_DIR/dockerd.log)"
  # setsid: the daemon outlives this script and its terminal.
  setsid dockerd >"$BUILD_DIR/dockerd.log" 2>&1 < /dev/null &
  local waited=0
  until engine_answers; do
    sleep 0.5
    waited=$((waited + 1))
    if ((waited > 120)); then
      tail -n 20 "$BUILD_DIR/dockerd.log" >&2 || true
      die "dockerd did not answer within 60 s"
    fi
  done
  say "engine: dockerd started and answers"
}

# A compiler cache outside the repository (Debian's ccache) makes rebuilds of an
# unchanged tree, and of the same sources in another checkout, nearly free.
# Paths relative to the checkout, so that another clone of the same sources hits the same entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}" CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
compiler_launcher() { if have ccache; then echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"; fi; }

cmd_build() {
  local generator=()
  if have ninja && [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then generator=(-G Ninja); fi
  if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
    # shellcheck disable=SC2046
    cmake -S "$ROOT" -B "$BUILD_DIR" "${generator[@]}" $(compiler_launcher) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j"$(nproc)"
  say "build: $BIN"
}

# Which runner images: RUNNERS (comma-separated, or "all"); by default the four
# every deployment needs plus any REQUIRED_RUNNERS, so a plain build stays quick.
# "./build.sh images all" (and ./build.sh test) build every folder under runners/.
DEFAULT_RUNNERS="python,typescript,javascript,bash"
cmd_images() {
  local runners="${1:-${RUNNERS:-$DEFAULT_RUNNERS${REQUIRED_RUNNERS:+,$REQUIRED_RUNNERS}}}"
  DOCKER="$(docker_cli)" RUNNERS="$runners" "$ROOT/images/build-images.sh"
}

# Creates .env with strong secrets the first time; never overwrites it.
ensure_env_file() {
  if [[ -f "$ENV_FILE" ]]; then return 0; fi
  say "writing $ENV_FILE with fresh secrets (from .env.example)"
  local token secret
  token=$(openssl rand -hex 32)
  secret=$(openssl rand -hex 32)
  sed -e "s|^MCP_API_TOKEN=.*|MCP_API_TOKEN=$token|" \
      -e "s|^FILE_SECRET=.*|FILE_SECRET=$secret|" "$ROOT/.env.example" >"$ENV_FILE"
  chmod 600 "$ENV_FILE"
  say "your API token is MCP_API_TOKEN in $ENV_FILE"
}

load_env_file() {
  set -a
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  set +a
}

cmd_doctor() {
  ensure_env_file
  load_env_file
  "$BIN" doctor
}

# The egress proxy (docs/security.md, "Egress"), when the configuration offers egress: a
# container of the server image on the internal network EGRESS_NETWORK and on a network with a
# way out, reading the grants this server writes. Replaced on every serve, so it runs this
# build's image; it keeps running (restart unless-stopped) until removed.
start_egress_proxy() {
  [[ -n "${EGRESS_POLICIES:-}" || "${ALLOW_NETWORK:-false}" =~ ^(1|true|yes|on)$ ]] || return 0
  local docker net grants proxy_name
  docker="$(docker_cli)"
  net="${EGRESS_NETWORK:-mcp-sandbox-egress}"
  proxy_name="${EGRESS_PROXY:-mcp-sandbox-egress:3128}"
  proxy_name="${proxy_name%%:*}"
  grants="${EGRESS_GRANTS_DIR:-${STATE_DIR:-${SANDBOX_ROOT:-/var/lib/mcp-sandbox/sandboxes}/.state}/egress-grants}"
  mkdir -p "$grants" && chmod 700 "$grants"
  # inhibit_ipv4: the host has no address on the internal bridge, so runs cannot reach its services.
  "$docker" network inspect "$net" >/dev/null 2>&1 ||
    "$docker" network create --internal -o com.docker.network.bridge.inhibit_ipv4=true "$net" >/dev/null
  "$docker" network inspect mcp-sandbox-egress-out >/dev/null 2>&1 ||
    "$docker" network create mcp-sandbox-egress-out >/dev/null
  "$docker" rm -f mcp-sandbox-egress-proxy >/dev/null 2>&1 || true
  # The grants are written by this user with mode 0600: the proxy runs as the same uid, without capabilities.
  # The label is how the server finds it running on the network before a run with egress.
  "$docker" run -d --name mcp-sandbox-egress-proxy --restart unless-stopped --network mcp-sandbox-egress-out \
    --label io.mcp-sandbox.kind=egress-proxy \
    --user "$(id -u):$(id -g)" --cap-drop ALL --security-opt no-new-privileges:true --read-only \
    -v "$grants:/grants:ro" -e EGRESS_GRANTS_DIR=/grants -e EGRESS_LISTEN=0.0.0.0:3128 \
    -e EGRESS_PERMITTED_RANGES="${EGRESS_PERMITTED_RANGES:-}" \
    mcp-sandbox/server:latest egress-proxy >/dev/null
  "$docker" network connect --alias "$proxy_name" "$net" mcp-sandbox-egress-proxy
  say "egress proxy: container mcp-sandbox-egress-proxy, reached by runs as $proxy_name on $net"
}

cmd_serve() {
  cmd_deps
  cmd_engine
  cmd_build
  # .env first: its REQUIRED_RUNNERS (or RUNNERS) says which runner images to build.
  ensure_env_file
  load_env_file
  cmd_images
  "$BIN" doctor || die "doctor found problems (above); fix them and run ./build.sh serve again"
  if ! "$BIN" serve --help >/dev/null 2>&1; then
    die "this build has no 'serve' subcommand yet; 'mcp-sandbox run' and 'mcp-sandbox doctor' work"
  fi
  start_egress_proxy
  say "serving (Ctrl-C stops)"
  exec "$BIN" serve
}

# Configures (once) and builds a variant of the project in its own directory.
build_variant() {
  local dir="$1"; shift
  local cmake_args=("$@")
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    # shellcheck disable=SC2046
    cmake -S "$ROOT" -B "$dir" -G Ninja $(compiler_launcher) "${cmake_args[@]}" >/dev/null
  fi
}

# The unit and integration suites built with AddressSanitizer + UBSan.
cmd_sanitize() {
  local dir="$BUILD_DIR/asan"
  build_variant "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCP_SANDBOX_SANITIZE=ON
  cmake --build "$dir" -j"$(nproc)" --target test_binaries
  say "sanitize: unit and integration suites under ASan + UBSan"
  MCP_SANDBOX_REQUIRE_ENGINE=1 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$dir" --output-on-failure -j2 --timeout 900 -L '^(unit|integration)$' | tee "$dir/ctest.log"
}

# "<passed> <skipped> <failed>" from a saved ctest log. ctest's "N% tests passed, F tests failed
# out of T" counts a skipped entry (exit 77) as passed; it lists them under "The following tests
# did not run:" as "(Skipped)", so passed here is T - F - skipped: the entries that ran and passed.
ctest_counts() {
  awk '
    / tests failed out of / {
      for (i = 1; i <= NF; i++) { if ($i == "failed") failed = $(i - 2); if ($i == "of") total = $(i + 1) }
    }
    /^The following tests did not run:/ { not_run = 1; next }
    not_run && !/^[[:space:]]/ { not_run = 0 }
    not_run && / \(Skipped\)$/ { skipped++ }
    END { printf "%d %d %d\n", total - failed - skipped, skipped, failed }
  ' "$1"
}

# A short libFuzzer run of each target (FUZZ_SECONDS each, default 20).
cmd_fuzz() {
  have clang++ || die "the fuzz targets need clang++ (apt-get install clang libclang-rt-dev)"
  local dir="$BUILD_DIR/fuzz" seconds="${FUZZ_SECONDS:-20}" target
  FUZZ_TARGETS_RAN=0
  CXX=clang++ build_variant "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMCP_SANDBOX_FUZZ=ON -DMCP_SANDBOX_TESTS=OFF
  cmake --build "$dir" -j"$(nproc)" --target fuzz_jsonrpc fuzz_paths fuzz_signature fuzz_demux fuzz_request_head
  for target in jsonrpc paths signature demux request_head; do
    mkdir -p "$dir/corpus/$target"
    say "fuzz: $target for ${seconds}s"
    # Seeds from the repository, new inputs into the build directory; a crash
    # leaves its input in $dir/crash-* and fails the run.
    "$dir/bin/fuzz_$target" -max_total_time="$seconds" -print_final_stats=0 -artifact_prefix="$dir/" \
      "$dir/corpus/$target" "$ROOT/tests/fuzz/corpus/$target" 2>"$dir/fuzz_$target.log" \
      || { tail -n 40 "$dir/fuzz_$target.log" >&2; die "fuzz target $target found a crash"; }
    grep -E '^Done [0-9]+ runs' "$dir/fuzz_$target.log" | sed 's/^/    /' || true
    FUZZ_TARGETS_RAN=$((FUZZ_TARGETS_RAN + 1))
  done
}

# The gVisor suite (tests/gvisor/run.sh): doctor and the MCP flow with
# RUNNER_RUNTIME=runsc, in a disposable engine of its own (the shared engine's
# runtimes are never touched). About 3-5 minutes.
cmd_gvisor() {
  say "gvisor: doctor and the MCP flow under runsc, in an engine of its own"
  MCP_SANDBOX_REQUIRE_ENGINE=1 "$ROOT/tests/gvisor/run.sh" "$BIN" | tee "$BUILD_DIR/gvisor.log"
}

cmd_test() {
  cmd_deps "${PACKAGE_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  compose_v2_plugin
  cmd_engine
  cmd_build
  cmd_images all
  say "test: unit, integration and end-to-end suites (real engine, real runner images, MCP SDK clients)"
  # The integration and e2e suites must run here, never skip: an engine is up.
  MCP_SANDBOX_REQUIRE_ENGINE=1 ctest --test-dir "$BUILD_DIR" --output-on-failure -j2 --timeout 900 \
    | tee "$BUILD_DIR/ctest.log"
  cmd_gvisor
  cmd_sanitize
  cmd_fuzz
  # Reaching here means every step passed (set -e, pipefail). One closing line for CI, counting
  # only what ran: ctest entries that ran and passed (the main build, then the ASan + UBSan build),
  # entries that exited 77 and did not run, fuzz targets that ran for their time without a crash.
  local main_passed main_skipped main_failed asan_passed asan_skipped asan_failed
  read -r main_passed main_skipped main_failed < <(ctest_counts "$BUILD_DIR/ctest.log")
  read -r asan_passed asan_skipped asan_failed < <(ctest_counts "$BUILD_DIR/asan/ctest.log")
  echo "summary: $((main_passed + asan_passed)) ctest entries passed (main $main_passed, asan $asan_passed)," \
    "$((main_skipped + asan_skipped)) skipped (main $main_skipped, asan $asan_skipped)," \
    "$FUZZ_TARGETS_RAN fuzz targets ran clean, $((main_failed + asan_failed)) failed"
}

# The benchmark (bench/bench.py): docker run vs Engine API vs mcp-sandbox, one
# interleaved run; writes docs/performance.md. Not part of test: it measures, it does not judge.
cmd_bench() {
  cmd_deps "${BENCH_PACKAGES[@]}"
  cmd_engine
  cmd_build
  cmd_images
  say "bench: a few minutes; keep the machine otherwise idle"
  # BENCH_ARGS: extra flags, e.g. BENCH_ARGS="--rounds 10 --rss-runs 200" for a quick look.
  # shellcheck disable=SC2086
  python3 "$ROOT/bench/bench.py" --bin "$BIN" --docker "$(docker_cli)" --out "$ROOT/docs/performance.md" ${BENCH_ARGS:-}
  say "bench: latest table written into docs/performance.md"
}

# The Debian package (cmake/Packaging.cmake): build/package/mcp-sandbox_<VERSION>_amd64.deb.
# tests/package/run.sh (ctest "package") builds it the same way and installs it.
cmd_package() {
  cmd_deps "${PACKAGE_PACKAGES[@]}"
  cmd_build
  local out="$BUILD_DIR/package" version
  version="$(head -n 1 "$ROOT/VERSION")"
  rm -f "$out"/mcp-sandbox_*.deb
  (cd "$BUILD_DIR" && cpack -G DEB -B "$out" >"$BUILD_DIR/cpack.log") || { cat "$BUILD_DIR/cpack.log" >&2; die "cpack failed"; }
  [[ -f "$out/mcp-sandbox_${version}_amd64.deb" ]] || die "cpack made no $out/mcp-sandbox_${version}_amd64.deb"
  say "package: $out/mcp-sandbox_${version}_amd64.deb"
}

main() {
  cd "$ROOT"
  if [[ $# -eq 0 ]]; then set -- deps engine build images; fi
  local verb
  while [[ $# -gt 0 ]]; do
    verb="$1"
    shift
    case "$verb" in
      deps) cmd_deps ;;
      engine) cmd_engine ;;
      build) cmd_build ;;
      images)
        # "images all" or "images go,rust": which runners (default: RUNNERS, else the four).
        if [[ $# -gt 0 && "$1" =~ ^(all|[a-z0-9][a-z0-9+_-]*(,[a-z0-9][a-z0-9+_-]*)*)$ && ! "$1" =~ ^(deps|engine|build|images|serve|doctor|test|sanitize|fuzz|bench|package|gvisor)$ ]]; then
          cmd_images "$1"
          shift
        else
          cmd_images
        fi ;;
      serve) cmd_serve ;;
      doctor) cmd_doctor ;;
      test) cmd_test ;;
      sanitize) cmd_sanitize ;;
      fuzz) cmd_fuzz ;;
      bench) cmd_bench ;;
      package) cmd_package ;;
      -h|--help|help)
        sed -n '2,3p' "$0" | sed 's/^# //'
        return 0 ;;
      *) die "unknown verb '$verb' (deps, engine, build, images, serve, doctor, test, sanitize, fuzz, bench, package)" ;;
    esac
  done
}

main "$@"
