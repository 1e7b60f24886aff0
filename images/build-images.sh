#!/usr/bin/env bash
# Builds the sandbox images: the base image, one runner image per folder
# under runners/ and the server image mcp-sandbox/server:latest (all of them,
# or only the languages named, "server" naming the server image). An image is
# rebuilt only when its inputs hash changed; docs/runners.md has the details.
#
# Usage: images/build-images.sh [all|language|server...]
#
# Without arguments: the runners named in RUNNERS (comma-separated, or "all";
# default all) and the server image. "all" names every runner folder.
#
# Environment:
#   RUNNERS                   runners to build when none are named (default: all)
#   DOCKER                    docker CLI (default: /usr/bin/docker if present, else docker)
#   NPM                       npm CLI for pinned downloads (default: npm)
#   MCP_SANDBOX_PULL_TIMEOUT  seconds allowed for pulling debian:<suite>-slim (default: 60)
#   MCP_SANDBOX_IMAGE_JOBS    runner images built side by side (default: 2)
#
# Needs bash, coreutils, tar, node (manifest checks) and, for runners with
# pinned downloads, npm. A base (one per Debian suite the runners use) is
# pulled, or built offline with mmdebstrap from the host's apt sources.
set -Eeuo pipefail

# Bases are mcp-sandbox/base:<suite>; a runner names its suite in its
# Dockerfile's "ARG BASE_IMAGE=mcp-sandbox/base:<suite>" (default bookworm).
readonly base_repo=mcp-sandbox/base
readonly default_suite=bookworm
# Part of every inputs hash: bump it when this script changes how runner
# images are made, so that all of them are rebuilt once.
readonly hash_scheme=2
readonly label_prefix=io.mcp-sandbox

repo_root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo_root"

if [[ -z ${DOCKER:-} ]]; then
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi
NPM=${NPM:-npm}
pull_timeout=${MCP_SANDBOX_PULL_TIMEOUT:-60}
image_jobs=${MCP_SANDBOX_IMAGE_JOBS:-2}

readonly cache_dir=build/image-cache
readonly log_dir=$cache_dir/logs
readonly npm_cache=$cache_dir/npm

# Resources to release on exit, success or not.
cleanup_paths=()
cleanup_tags=()

die() {
    printf 'build-images: error: %s\n' "$*" >&2
    exit 1
}

on_error() {
    printf 'build-images: error: command failed (exit %s) at line %s: %s\n' "$1" "$2" "$3" >&2
    exit 1
}
trap 'on_error $? $LINENO "$BASH_COMMAND"' ERR

cleanup() {
    local tag path
    for tag in "${cleanup_tags[@]}"; do
        "$DOCKER" rmi "$tag" >/dev/null 2>&1 || true
    done
    for path in "${cleanup_paths[@]}"; do
        rm -rf -- "$path"
    done
}
trap cleanup EXIT

now_ns() { date +%s%N; }

# Prints the time since $1 (from now_ns) as seconds with one decimal.
elapsed() {
    local ms=$((($(now_ns) - $1) / 1000000))
    printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

report() { # name image status
    printf '%-11s %-37s %s\n' "$1" "$2" "$3"
}

# Prints the last lines of a build log, then fails.
die_with_log() { # log message
    printf '%s\n' "---- last lines of $1 ----" >&2
    tail -n 40 -- "$1" >&2 || true
    printf '%s\n' "----" >&2
    die "$2 (full log: $1)"
}

image_exists() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

# Prints "<image id> <inputs hash label or empty>", or nothing if there is no such image.
image_id_and_hash() {
    "$DOCKER" image inspect --format \
        "{{.Id}} {{with .Config.Labels}}{{index . \"$label_prefix.inputs-hash\"}}{{end}}" \
        "$1" 2>/dev/null || true
}

check_tools() {
    command -v "$DOCKER" >/dev/null 2>&1 || die "docker CLI '$DOCKER' not found (set DOCKER)"
    "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
        die "cannot reach the Docker engine with '$DOCKER' (is the daemon running, may this user use it?)"
    command -v node >/dev/null 2>&1 || die "node is required on the host to check runner manifests"
    [[ $pull_timeout =~ ^[0-9]+$ ]] || die "MCP_SANDBOX_PULL_TIMEOUT must be a number of seconds"
    [[ $image_jobs =~ ^[1-9][0-9]*$ ]] || die "MCP_SANDBOX_IMAGE_JOBS must be a positive number"
}

# Serialises concurrent runs: they would share temporary tags and the cache.
take_lock() {
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$cache_dir/lock"
    if ! flock -n 9; then
        printf 'build-images: waiting for another build-images.sh to finish\n' >&2
        flock 9
    fi
}

# --- base images ----------------------------------------------------------------

# host_sources_for: the host's Debian apt sources for another suite (shared with build.sh).
# shellcheck source=images/host-sources.sh
. "$repo_root/images/host-sources.sh"

build_base_offline() { # suite image log
    local suite=$1 image=$2 log=$3 tmp_tag=mcp-sandbox/build-tmp:base-$1
    local -a hooks=() mirrors=()
    # Without the merged-usr hook apt picks the usrmerge package, which drags
    # perl into the image (122 MB instead of 75 MB).
    if [[ -d /usr/share/mmdebstrap/hooks/merged-usr ]]; then
        hooks=(--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr)
    fi
    # The host's own Debian mirrors for this suite; without any, mmdebstrap's
    # defaults. apt-get inside the runner builds uses the same list.
    mapfile -t mirrors < <(host_sources_for "$suite")
    printf 'apt sources for %s:%s\n' "$suite" "$(printf ' [%s]' "${mirrors[@]}")" >>"$log"
    # The import goes to a temporary tag first so that a truncated stream
    # never becomes the base.
    cleanup_tags+=("$tmp_tag")
    mmdebstrap --variant=minbase "${hooks[@]}" \
        --dpkgopt=images/base/dpkg-slim.cfg \
        "$suite" - "${mirrors[@]}" 2>>"$log" |
        "$DOCKER" import --change 'CMD ["bash"]' - "$tmp_tag" >>"$log" 2>&1 &&
        "$DOCKER" tag "$tmp_tag" "$image"
}

# Makes sure mcp-sandbox/base:<suite> exists: kept while it exists, else
# debian:<suite>-slim (present or pulled in time), else built with mmdebstrap.
declare -A bases_checked=()
ensure_base() { # suite
    local suite=$1 start log image upstream
    [[ -z ${bases_checked[$suite]:-} ]] || return 0
    bases_checked[$suite]=1
    image=$base_repo:$suite
    upstream=debian:$suite-slim
    start=$(now_ns)
    log=$log_dir/base-$suite.log
    if image_exists "$image"; then
        report "base" "$image" "up to date ($(elapsed "$start"))"
        return
    fi
    : >"$log"
    if image_exists "$upstream" ||
        timeout "$pull_timeout" "$DOCKER" pull -q "$upstream" >>"$log" 2>&1; then
        "$DOCKER" tag "$upstream" "$image"
        report "base" "$image" "tagged from $upstream ($(elapsed "$start"))"
        return
    fi
    command -v mmdebstrap >/dev/null 2>&1 ||
        die "$upstream cannot be pulled and mmdebstrap is not installed to build the base offline (apt-get install mmdebstrap)"
    build_base_offline "$suite" "$image" "$log" || die_with_log "$log" "building $image with mmdebstrap failed"
    report "base" "$image" "built with mmdebstrap in $(elapsed "$start")"
}

# The suite a runner's Dockerfile builds on: its "ARG BASE_IMAGE=" default.
runner_suite() { # folder
    local line suite
    line=$(grep -m 1 -E '^ARG BASE_IMAGE=' "$1/Dockerfile" || true)
    [[ -n $line ]] || { printf '%s\n' "$default_suite"; return; }
    suite=${line#ARG BASE_IMAGE=}
    [[ $suite == "$base_repo":* ]] || die "$1/Dockerfile: ARG BASE_IMAGE must default to $base_repo:<suite>"
    suite=${suite#"$base_repo":}
    [[ $suite =~ ^[a-z]+$ ]] || die "$1/Dockerfile: '$suite' is not a Debian suite name"
    printf '%s\n' "$suite"
}

# --- runner images ------------------------------------------------------------

# Checks a manifest against the schema the server parses and prints three
# things, one a line: the compact JSON, the image, then the version probe's
# arguments, one a line.
read_manifest() { # manifest.json folder-name
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
const fs = require("fs");
const [file, folder] = process.argv.slice(1);
const fail = (msg) => { console.error(`${file}: ${msg}`); process.exit(1); };
let m;
try { m = JSON.parse(fs.readFileSync(file, "utf8")); } catch (e) { fail(e.message); }
if (m === null || typeof m !== "object" || Array.isArray(m)) fail("not a JSON object");
const keys = ["language", "aliases", "image", "file", "command", "version"];
const optional = ["compile", "limits", "registries", "packages"];
const extra = Object.keys(m).filter((k) => !keys.includes(k) && !optional.includes(k));
const missing = keys.filter((k) => !(k in m));
if (extra.length) fail(`unknown keys: ${extra.join(", ")}`);
if (missing.length) fail(`missing keys: ${missing.join(", ")}`);
const name = /^[a-z0-9][a-z0-9+_-]*$/;
const isArgv = (a) => Array.isArray(a) && a.length > 0 &&
    a.every((s) => typeof s === "string" && s.length > 0 && !/[\n\r]/.test(s));
if (typeof m.language !== "string" || !name.test(m.language)) fail("language must match " + name);
if (m.language !== folder) fail(`language "${m.language}" differs from its folder "${folder}"`);
if (!Array.isArray(m.aliases) || !m.aliases.every((a) => typeof a === "string" && name.test(a)))
    fail("aliases must be an array of names matching " + name);
if (typeof m.image !== "string" || !/^[a-z0-9][^\s]*$/.test(m.image)) fail("image must be an image reference");
if (typeof m.file !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(m.file))
    fail("file must be a plain file name");
if (!isArgv(m.command)) fail("command must be a non-empty array of non-empty strings");
if ("compile" in m && !isArgv(m.compile)) fail("compile must be a non-empty array of non-empty strings");
const first = m.compile || m.command;
if (!first.some((s) => s.includes(`/tmp/${m.file}`))) fail(`${m.compile ? "compile" : "command"} never mentions /tmp/${m.file}`);
if ("limits" in m) {
    const l = m.limits;
    if (l === null || typeof l !== "object" || Array.isArray(l)) fail("limits must be an object");
    for (const [k, v] of Object.entries(l)) {
        if (k === "cpus") { if (typeof v !== "number" || !(v > 0)) fail("limits.cpus must be a positive number"); }
        else if (k === "memory_mb" || k === "timeout_seconds") {
            if (!Number.isInteger(v) || v <= 0) fail(`limits.${k} must be a positive integer`);
        } else fail(`limits has an unknown key "${k}" (cpus, memory_mb, timeout_seconds)`);
    }
}
if (!isArgv(m.version)) fail("version must be a non-empty array of non-empty strings");
if ("registries" in m && !(Array.isArray(m.registries) &&
        m.registries.every((h) => typeof h === "string" && /^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(h))))
    fail("registries must be an array of host names or *.name patterns");
if ("packages" in m) {
    const p = m.packages;
    if (p === null || typeof p !== "object" || Array.isArray(p)) fail("packages must be an object");
    const unknown = Object.keys(p).filter((k) => !["installer", "install", "environment"].includes(k));
    if (unknown.length) fail(`packages has unknown keys: ${unknown.join(", ")} (installer, install, environment)`);
    if (!["pip", "npm"].includes(p.installer)) fail("packages.installer must be \"pip\" or \"npm\"");
    if (!isArgv(p.install)) fail("packages.install must be a non-empty array of non-empty strings");
    if (!p.install.some((s) => s.includes(`/data/.packages/${m.language}`)))
        fail(`packages.install never mentions /data/.packages/${m.language}, where the packages go`);
    const env = p.environment ?? {};
    if (env === null || typeof env !== "object" || Array.isArray(env) ||
            !Object.entries(env).every(([k, v]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k) && typeof v === "string" && !/[\0\n\r]/.test(v)))
        fail("packages.environment must map variable names to strings");
}
console.log(JSON.stringify(m));
console.log(m.image);
for (const arg of m.version) console.log(arg);
' "$1" "$2"
}

# sha256 over the runner folder (sorted paths and contents), the base image ID
# and the hash scheme. Pinned download versions live in the folder's
# "downloads" file, so they are covered too.
inputs_hash() { # folder base-id
    {
        printf 'scheme %s\nbase %s\n' "$hash_scheme" "$2"
        (cd -- "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    } | sha256sum | cut -d ' ' -f 1
}

sri_sha512() { # file
    node -e '
const data = require("fs").readFileSync(process.argv[1]);
console.log("sha512-" + require("crypto").createHash("sha512").update(data).digest("base64"));
' "$1"
}

# Makes sure the pinned npm tarball is in the cache with the pinned integrity
# and sets fetched_tarball to its path.
fetched_tarball=
fetch_npm() { # spec integrity log
    local spec=$1 integrity=$2 log=$3 pkg version tarball tmp got
    pkg=${spec%@*}
    version=${spec##*@}
    tarball=$npm_cache/$(printf '%s' "${pkg#@}" | tr / -)-$version.tgz
    fetched_tarball=$tarball
    if [[ -f $tarball && $(sri_sha512 "$tarball") == "$integrity" ]]; then
        return
    fi
    command -v "$NPM" >/dev/null 2>&1 || die "npm CLI '$NPM' not found (needed to download $spec; set NPM)"
    mkdir -p "$npm_cache"
    tmp=$(mktemp -d "$npm_cache/fetch.XXXXXX")
    cleanup_paths+=("$tmp")
    "$NPM" pack "$spec" --ignore-scripts --pack-destination "$tmp" >>"$log" 2>&1 ||
        die_with_log "$log" "npm pack $spec failed"
    local -a got_files=("$tmp"/*.tgz)
    [[ ${#got_files[@]} -eq 1 && -f ${got_files[0]} ]] || die "npm pack $spec did not produce one tarball"
    got=$(sri_sha512 "${got_files[0]}")
    [[ $got == "$integrity" ]] || die "$spec: integrity mismatch: pinned $integrity, downloaded $got"
    mv -f -- "${got_files[0]}" "$tarball"
}

# Puts every pinned download of a runner into its build context. Each line of
# runners/<lang>/downloads: npm <package>@<version> <sha512 integrity> <path in tarball> <name in context>
stage_downloads() { # folder context log
    local list=$1/downloads kind spec integrity member dest rest unpack
    [[ -f $list ]] || return 0
    while read -r kind spec integrity member dest rest || [[ -n $kind ]]; do
        [[ -z $kind || $kind == \#* ]] && continue
        [[ $kind == npm ]] || die "$list: unknown download kind '$kind' (only npm)"
        [[ -z $rest && -n $dest ]] || die "$list: expected 5 fields: npm <package>@<version> <integrity> <path> <name>"
        [[ $spec =~ ^(@[a-z0-9._-]+/)?[a-z0-9._-]+@[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] ||
            die "$list: '$spec' is not <package>@<exact version>"
        [[ $integrity =~ ^sha512-[A-Za-z0-9+/]+=*$ ]] || die "$list: '$integrity' is not a sha512 integrity"
        [[ $member != /* && $member != *..* ]] || die "$list: bad path in tarball '$member'"
        [[ $dest =~ ^[A-Za-z0-9_][A-Za-z0-9._-]*$ ]] || die "$list: bad name in context '$dest'"
        fetch_npm "$spec" "$integrity" "$3"
        unpack=$(mktemp -d "$2.unpack.XXXXXX")
        cleanup_paths+=("$unpack")
        tar -xzf "$fetched_tarball" -C "$unpack" -- "$member" 2>>"$3" ||
            die_with_log "$3" "$spec has no $member"
        mv -f -- "$unpack/$member" "$2/$dest"
    done <"$list"
}

# A runner whose Dockerfile COPYs or mounts "apt-backports.list" gets one in its
# build context: the <suite>-backports entries (Debian's newer builds of
# selected packages for a stable suite, installed only when asked for with
# "apt-get install -t <suite>-backports"), from the same mirrors as the base:
# the host's apt sources with the suite swapped, or, on a host without Debian
# sources, the base image's own.
stage_backports() { # folder context suite base-image log
    local folder=$1 ctx=$2 suite=$3 base=$4 log=$5 root
    grep -q 'apt-backports\.list' "$folder/Dockerfile" || return 0
    local -a entries=()
    mapfile -t entries < <(host_sources_for "$suite-backports" release-only)
    if ((${#entries[@]} == 0)); then
        root=$(mktemp -d "$ctx.base-etc.XXXXXX")
        cleanup_paths+=("$root")
        "$DOCKER" run --rm --network none --entrypoint /bin/sh "$base" -c \
            'tar -C / -ch etc/os-release etc/apt 2>/dev/null || true' | tar -x -C "$root" 2>>"$log" || true
        mapfile -t entries < <(host_sources_for "$suite-backports" release-only "$root")
    fi
    ((${#entries[@]})) || die "$folder needs $suite-backports, but neither the host nor $base has Debian apt sources to derive it from"
    printf '%s\n' "${entries[@]}" >"$ctx/apt-backports.list"
    printf 'backports sources: %s\n' "$(printf ' [%s]' "${entries[@]}")" >>"$log"
}

build_runner() { # language
    local lang=$1 folder=runners/$1 start log manifest image hash current old_id suite base_image base_id
    local -a info version_cmd
    start=$(now_ns)
    log=$log_dir/$lang.log
    mapfile -t info < <(read_manifest "$folder/manifest.json" "$lang" || echo '!')
    [[ ${#info[@]} -ge 3 && ${info[-1]} != '!' ]] || die "$folder/manifest.json is invalid (see above)"
    manifest=${info[0]}
    image=${info[1]}
    version_cmd=("${info[@]:2}")
    [[ -f $folder/Dockerfile ]] || die "$folder/Dockerfile is missing"
    suite=$(runner_suite "$folder")
    base_image=$base_repo:$suite
    ensure_base "$suite"
    base_id=$("$DOCKER" image inspect --format '{{.Id}}' "$base_image")

    hash=$(inputs_hash "$folder" "$base_id")
    current=$(image_id_and_hash "$image")
    old_id=${current%% *}
    if [[ -n $current && ${current#* } == "$hash" ]]; then
        report "$lang" "$image" "up to date ($(elapsed "$start"))"
        return
    fi

    : >"$log"
    local ctx tmp_tag=mcp-sandbox/build-tmp:$lang
    ctx=$(mktemp -d "$cache_dir/context-$lang.XXXXXX")
    cleanup_paths+=("$ctx")
    cp -R -- "$folder/." "$ctx/"
    stage_downloads "$folder" "$ctx" "$log"
    stage_backports "$folder" "$ctx" "$suite" "$base_image" "$log"

    cleanup_tags+=("$tmp_tag")
    "$DOCKER" build --force-rm --build-arg "BASE_IMAGE=$base_image" -t "$tmp_tag" "$ctx" >>"$log" 2>&1 ||
        die_with_log "$log" "docker build of $lang failed"

    local version
    version=$("$DOCKER" run --rm --network none --read-only --tmpfs /tmp --user 1000:1000 \
        "$tmp_tag" "${version_cmd[@]}" 2>&1) || die "$lang: version probe '${version_cmd[*]}' failed: $version"
    version=${version%%$'\n'*}
    version=${version%$'\r'}
    [[ -n $version ]] || die "$lang: version probe '${version_cmd[*]}' printed nothing"

    smoke_test "$folder" "$tmp_tag" "$manifest" "$log"

    # The labels go on last, in a tiny build, so that only a complete, tested
    # image carries a runner label and the inputs hash.
    printf 'FROM %s\n' "$tmp_tag" | "$DOCKER" build -q \
        --label "$label_prefix.kind=runner" \
        --label "$label_prefix.language=$lang" \
        --label "$label_prefix.manifest=$manifest" \
        --label "$label_prefix.inputs-hash=$hash" \
        --label "$label_prefix.version=$version" \
        -t "$image" - >>"$log" 2>&1 || die_with_log "$log" "labelling $image failed"

    # Drop the image this one replaces; kept if a container or tag still uses it.
    local new_id
    new_id=$(image_id_and_hash "$image")
    new_id=${new_id%% *}
    if [[ -n $old_id && $old_id != "$new_id" ]]; then
        "$DOCKER" rmi "$old_id" >/dev/null 2>&1 || true
    fi
    report "$lang" "$image" "built in $(elapsed "$start") ($version)"
}

# Runs runners/<lang>/smoke-test, if present, through the executor's contract:
# read-only root, noexec /tmp, user 1000, no network, code framed on stdin.
# The program must exit 0 with "smoke-test ok" as its last line of output.
smoke_test() { # folder image manifest log
    local program=$1/smoke-test out file
    local -a argv
    [[ -f $program ]] || return 0
    file=$(node -e 'console.log(JSON.parse(process.argv[1]).file)' "$3")
    # The executor's two bootstraps (server/runner/container_spec.hpp): a
    # runner that compiles gets its compile argv as one shell-quoted word.
    # shellcheck disable=SC2016 # expanded by the container's sh
    local ending='s=$?; printf '\''%s %d\n'\'' "$t" "$s"; printf '\''%s %d\n'\'' "$t" "$s" >&2; exit "$s"; }'
    # shellcheck disable=SC2016
    local bootstrap='IFS= read -r t && IFS= read -r n && head -c "$n" > "$0" && { "$@"; '"$ending"
    # shellcheck disable=SC2016
    node -e 'process.exit("compile" in JSON.parse(process.argv[1]) ? 0 : 1)' "$3" &&
        bootstrap='IFS= read -r t && IFS= read -r n && head -c "$n" > "$0" && { eval "$1" < /dev/null && shift && "$@"; '"$ending"
    mapfile -t argv < <(node -e '
const m = JSON.parse(process.argv[1]);
const q = (w) => "\x27" + w.replace(/\x27/g, "\x27\\\x27\x27") + "\x27";
if (m.compile) console.log(m.compile.map(q).join(" "));
for (const a of m.command) console.log(a);' "$3")
    # shellcheck disable=SC2016 # expanded by the container's sh
    out=$({ echo smoke-end; wc -c <"$program"; cat -- "$program"; } | "$DOCKER" run -i --rm \
        --network none --read-only --user 1000:1000 --cap-drop ALL \
        --security-opt no-new-privileges --pids-limit 128 --memory 512m \
        --tmpfs /tmp:rw,noexec,nosuid,nodev,size=64m \
        --tmpfs /build:rw,exec,nosuid,nodev,size=256m,mode=1777 \
        --tmpfs /data:rw,nosuid,size=64m,uid=1000,gid=1000 --workdir /data \
        "$2" /bin/sh -c "$bootstrap" "/tmp/$file" "${argv[@]}" 2>&1) || {
        printf '%s\n' "$out" >>"$4"
        die_with_log "$4" "$program failed"
    }
    printf '%s\n' "$out" >>"$4"
    # The bootstrap ends stdout and stderr with "smoke-end 0"; 2>&1 interleaves the two streams.
    local line ends=0 last=
    while IFS= read -r line; do
        if [[ $line == 'smoke-end 0' ]]; then ends=$((ends + 1)); else last=$line; fi
    done <<<"$out"
    [[ $ends == 2 ]] || die_with_log "$4" "$program: the bootstrap did not end both streams with status 0"
    [[ $last == 'smoke-test ok' ]] || die_with_log "$4" "$program did not end with 'smoke-test ok'"
}

# --- server image ---------------------------------------------------------------

readonly server_image=mcp-sandbox/server:latest
# What images/server/Dockerfile copies; .dockerignore keeps the build context
# to the same paths, so the hash covers exactly what the build sees.
readonly -a server_inputs=(.dockerignore CMakeLists.txt VERSION cmake server images/server)

# sha256 over the server's inputs (sorted paths and contents), the base image
# ID and the hash scheme.
server_inputs_hash() { # base-id
    {
        printf 'scheme %s\nbase %s\n' "$hash_scheme" "$1"
        find "${server_inputs[@]}" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    } | sha256sum | cut -d ' ' -f 1
}

# Compiles the server inside the image build (a few minutes on 2 cores), so
# only when its sources, the Dockerfile or the base changed.
build_server() { # base-id
    local start log hash current old_id version release tmp_tag=mcp-sandbox/build-tmp:server
    start=$(now_ns)
    release=$(head -n 1 VERSION)
    log=$log_dir/server.log
    hash=$(server_inputs_hash "$1")
    current=$(image_id_and_hash "$server_image")
    old_id=${current%% *}
    if [[ -n $current && ${current#* } == "$hash" ]]; then
        report server "$server_image" "up to date ($(elapsed "$start"))"
        return
    fi
    : >"$log"
    cleanup_tags+=("$tmp_tag")
    "$DOCKER" build --force-rm --build-arg "BASE_IMAGE=$base_repo:$default_suite" \
        --label "$label_prefix.kind=server" --label "$label_prefix.inputs-hash=$hash" \
        --label "$label_prefix.version=$release" \
        --label "org.opencontainers.image.version=$release" \
        --label "org.opencontainers.image.licenses=Apache-2.0" \
        --label "org.opencontainers.image.title=mcp-sandbox" \
        -f images/server/Dockerfile -t "$tmp_tag" . >>"$log" 2>&1 ||
        die_with_log "$log" "docker build of the server image failed"
    # Only an image whose binary starts gets the tag.
    version=$("$DOCKER" run --rm --network none "$tmp_tag" --version 2>&1) ||
        die "server image: 'mcp-sandbox --version' failed: $version"
    [[ $version == "mcp-sandbox $release" ]] ||
        die "server image: 'mcp-sandbox --version' says '$version', VERSION says $release"
    "$DOCKER" tag "$tmp_tag" "$server_image"
    local new_id
    new_id=$(image_id_and_hash "$server_image")
    new_id=${new_id%% *}
    if [[ -n $old_id && $old_id != "$new_id" ]]; then
        "$DOCKER" rmi "$old_id" >/dev/null 2>&1 || true
    fi
    report server "$server_image" "built in $(elapsed "$start") ($version)"
}

# The first instruction after FROM, continuation lines joined. Runners whose
# first instruction is the same (the GCC layer of c, cpp, rust and python)
# share the layer it makes, but only if one of them has made it before the
# others start, so they are built one after another in one lane.
first_layer_key() { # folder
    awk '
        !from { if ($1 == "FROM") from = 1; next }
        key == "" && ($0 ~ /^[[:space:]]*(#|$)/) { next }
        { key = key $0; if ($0 !~ /\\$/) { print key; exit } }
    ' "$1/Dockerfile"
}

# Builds the runners in lanes, up to MCP_SANDBOX_IMAGE_JOBS lanes at a time.
# An image build is mostly one busy process at a time (apt, dpkg, the layer
# commit), so on two cores two lanes finish sooner than one (measured in
# docs/runners.md: 13 instead of 17 minutes for all runners).
# Runners sharing a first layer form one lane, the longest lanes start first.
build_lanes() { # language...
    local lang key jobs=$image_jobs failed=0
    if ((jobs <= 1 || $# <= 1)); then
        for lang in "$@"; do build_runner "$lang"; done
        return
    fi
    local -A lane_of=()
    local -a keys=() lanes=()
    for lang in "$@"; do
        key=$(first_layer_key "runners/$lang")
        [[ -n ${lane_of[$key]+x} ]] || keys+=("$key")
        lane_of[$key]+="$lang "
    done
    for key in "${keys[@]}"; do lanes+=("${lane_of[$key]}"); done
    local -a members
    mapfile -t lanes < <(for key in "${lanes[@]}"; do
        read -r -a members <<<"$key"
        printf '%03d %s\n' $((999 - ${#members[@]})) "$key"
    done | LC_ALL=C sort -s -k1,1 | cut -d ' ' -f 2-)
    local lane
    for lane in "${lanes[@]}"; do
        while (($(jobs -rp | wc -l) >= jobs)); do wait -n || failed=1; done
        ((failed == 0)) || break
        (
            cleanup_paths=() cleanup_tags=()
            trap cleanup EXIT
            read -r -a members <<<"$lane"
            for lang in "${members[@]}"; do build_runner "$lang"; done
        ) &
    done
    while (($(jobs -rp | wc -l) > 0)); do wait -n || failed=1; done
    ((failed == 0)) || die "a runner image failed to build (see above)"
}

# Every runner folder's language, sorted.
all_runners() {
    local lang
    for lang in runners/*/manifest.json; do
        [[ -f $lang ]] || continue
        lang=${lang#runners/}
        printf '%s\n' "${lang%/manifest.json}"
    done
}

main() {
    local -a langs=() wanted=()
    local lang with_server=1
    if [[ $# -gt 0 ]]; then
        with_server=0
        wanted=("$@")
    else
        IFS=', ' read -r -a wanted <<<"${RUNNERS:-all}"
    fi
    for lang in "${wanted[@]}"; do
        [[ -n $lang ]] || continue
        if [[ $lang == server ]]; then with_server=1 && continue; fi
        if [[ $lang == all ]]; then mapfile -t -O "${#langs[@]}" langs < <(all_runners) && continue; fi
        [[ $lang =~ ^[a-z0-9][a-z0-9+_-]*$ && -f runners/$lang/manifest.json ]] ||
            die "unknown runner '$lang' (no runners/$lang/manifest.json)"
        langs+=("$lang")
    done
    # Each once, in the order first named.
    local -A seen=()
    local -a unique=()
    for lang in "${langs[@]}"; do
        [[ -n ${seen[$lang]:-} ]] && continue
        seen[$lang]=1
        unique+=("$lang")
    done
    langs=("${unique[@]}")
    ((${#langs[@]} > 0 || with_server)) || die "no runners found under runners/"

    check_tools
    mkdir -p "$log_dir"
    take_lock
    # The default base always exists: the server image and most runners use it.
    ensure_base "$default_suite"
    # Every base first: lanes running side by side must not both build one.
    for lang in "${langs[@]}"; do
        ensure_base "$(runner_suite "runners/$lang")"
    done
    build_lanes "${langs[@]}"
    if ((with_server)); then
        build_server "$("$DOCKER" image inspect --format '{{.Id}}' "$base_repo:$default_suite")"
    fi
}

main "$@"
