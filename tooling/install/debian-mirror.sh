#!/usr/bin/env bash
# Prints the Debian archive debootstrap fetches SUITE from (tooling/install/images.sh):
#   1. KIT_DEBIAN_MIRROR, if set;
#   2. else this machine's own apt sources (KIT_APT_ETC, default /etc/apt: sources.list, then
#      sources.list.d/*.list and *.sources in deb822 format): the first `deb` entry of SUITE
#      itself (not SUITE-updates or -security) with component main, so a machine behind its own
#      mirror or proxy works as it is;
#   3. else deb.debian.org, saying so on stderr.
# Usage: tooling/install/debian-mirror.sh SUITE
set -euo pipefail
suite="${1:?usage: tooling/install/debian-mirror.sh SUITE}"
etc="${KIT_APT_ETC:-/etc/apt}"
fallback=http://deb.debian.org/debian

if [ -n "${KIT_DEBIAN_MIRROR:-}" ]; then echo "$KIT_DEBIAN_MIRROR"; exit 0; fi

# One-line format: deb [options] URI SUITE COMPONENT...
one_line() {
  awk -v suite="$suite" '
    { sub(/#.*/, "") }
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) != suite || $i !~ /^(https?|ftp|file):\/\//) next
      for (j = i + 2; j <= NF; j++) if ($j == "main") { print $i; exit }
    }' "$1"
}

# deb822 format: stanzas of "Field: value" lines (Types, URIs, Suites, Components, Enabled).
deb822() {
  awk -v suite="$suite" '
    function has(list, word,   a, n, k) { n = split(list, a, /[ \t]+/); for (k = 1; k <= n; k++) if (a[k] == word) return 1; return 0 }
    BEGIN { RS = "" }
    {
      split("", f); key = ""
      n = split($0, lines, "\n")
      for (k = 1; k <= n; k++) {
        line = lines[k]
        if (line ~ /^#/) continue
        if (line ~ /^[ \t]/) { if (key != "") f[key] = f[key] " " line; continue }
        p = index(line, ":"); if (!p) continue
        key = tolower(substr(line, 1, p - 1)); f[key] = substr(line, p + 1)
      }
      if (has(tolower(f["enabled"]), "no") || !has(f["types"], "deb") || !has(f["suites"], suite) || !has(f["components"], "main")) next
      n = split(f["uris"], uris, /[ \t]+/)
      for (k = 1; k <= n; k++) if (uris[k] ~ /^(https?|ftp|file):\/\//) { print uris[k]; exit }
    }' "$1"
}

shopt -s nullglob
for file in "$etc/sources.list" "$etc"/sources.list.d/*.list "$etc"/sources.list.d/*.sources; do
  [ -r "$file" ] || continue
  case "$file" in *.sources) mirror="$(deb822 "$file")" ;; *) mirror="$(one_line "$file")" ;; esac
  if [ -n "$mirror" ]; then echo "${mirror%/}"; exit 0; fi
done
echo "kit: no 'deb' source for $suite main in $etc: debootstrap uses $fallback (set KIT_DEBIAN_MIRROR=URL to choose)" >&2
echo "$fallback"
