# shellcheck shell=bash
# Sourced by images/build-images.sh (the runner images' bases) and build.sh (the
# compose v2 plugin the compose test uses): apt sources for a Debian suite other
# than the host's, derived from the host's own, so every download comes from the
# mirrors the host already uses and no host name is written anywhere.

# The host's Debian apt sources as one-line entries for <suite>: every entry
# whose suite is the host's release (or its -updates/-security) with the
# release name replaced, so a base for another suite comes from the same
# mirrors the host uses. With "release-only", only the release's own entries,
# for a suite such as bookworm-backports that has no -updates/-security.
# Prints nothing when the host has no Debian sources. <root> reads another
# tree's /etc instead of the host's (a base image's, copied out).
host_sources_for() { # suite [release-only] [root]
    local suite=$1 release_only=${2:-} root=${3:-} host_release
    # shellcheck source=/dev/null
    host_release=$(. "$root/etc/os-release" 2>/dev/null && printf '%s' "${VERSION_CODENAME:-}")
    [[ -n $host_release ]] || return 0
    local -a files=()
    [[ -f $root/etc/apt/sources.list ]] && files+=("$root/etc/apt/sources.list")
    local f
    for f in "$root"/etc/apt/sources.list.d/*.list "$root"/etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] && files+=("$f")
    done
    ((${#files[@]})) || return 0
    # One-line entries ("deb [opts] URI SUITE COMPONENTS") and deb822 stanzas
    # (Types/URIs/Suites/Components); types "deb" only. One awk per file
    # (mawk has no ENDFILE), duplicates dropped at the end.
    for f in "${files[@]}"; do
        awk -v host="$host_release" -v want="$suite" -v only="${release_only:+1}" \
            -v deb822="$([[ $f == *.sources ]] && echo 1 || echo 0)" '
            function emit(uri, s, comps,   suffix) {
                if (s == host) suffix = ""
                else if (only != 1 && (s == host "-updates" || s == host "-security")) suffix = substr(s, length(host) + 1)
                else return
                print "deb " uri " " want suffix " " comps
            }
            function flush(   n, m, i, j, us, ss) {
                if (types ~ /(^| )deb( |$)/ && uris != "" && suites != "") {
                    n = split(uris, us, " "); m = split(suites, ss, " ")
                    for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) emit(us[i], ss[j], comps == "" ? "main" : comps)
                }
                types = uris = suites = comps = ""
            }
            deb822 == 1 {
                if ($0 ~ /^[[:space:]]*$/) { flush(); next }
                if ($0 ~ /^#/) next
                key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^ +/, "")
                if (key == "types") types = $0; else if (key == "uris") uris = $0
                else if (key == "suites") suites = $0; else if (key == "components") comps = $0
                next
            }
            $1 == "deb" {
                i = 2
                if ($i ~ /^\[/) { while ($i !~ /\]$/ && i < NF) i++; i++ }
                uri = $i; s = $(i + 1); comps = ""
                for (k = i + 2; k <= NF; k++) comps = comps (comps == "" ? "" : " ") $k
                emit(uri, s, comps)
            }
            END { if (deb822 == 1) flush() }
        ' "$f"
    done | awk '!seen[$0]++'
}
