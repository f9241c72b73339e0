#!/usr/bin/env bash
# Ensures the pinned k6 (load generator) and prints the path of its binary on stdout:
#   $(tooling/install/k6.sh) run load/steady.js        (load/k6 wraps it with the offline settings)
# k6 is in no registry we can reach as a binary (npm's "k6" is a dummy, Debian and PyPI have
# none), so it is built from its Go module via the module proxy, the way upstream's Dockerfile
# does: CGO_ENABLED=0 go build -trimpath. A k6 of the same version already on PATH is used as is.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

K6_VERSION="${KIT_K6_VERSION:-1.8.1}"   # go.k6.io/k6, newest v1.x on the proxy (v2 is another module path)

# k6_version BIN: the version a k6 binary reports ("k6 v1.8.1 (commit/..., go1.26.0, linux/amd64)").
k6_version() { "$1" version 2>/dev/null | sed -nE '1s/^k6 v([^ ]+).*/\1/p'; }

# (Not load/k6: that wrapper calls this script.)
if installed="$(command -v k6)" && [ "$(realpath "$installed")" != "$KIT_ROOT/load/k6" ] \
   && [ "$(k6_version "$installed")" = "$K6_VERSION" ]; then
  echo "$installed"; exit 0
fi

out="$KIT_CACHE/k6-$K6_VERSION"
if [ "$(k6_version "$out/k6")" != "$K6_VERSION" ]; then
  use_go "k6 $K6_VERSION"
  progress "building k6 $K6_VERSION from go.k6.io/k6 with $(go version | cut -d' ' -f3) - a few minutes, once"
  t0=$(date +%s)
  # k6's go.mod has no replace directives: building inside its module is exactly upstream's build.
  src="$(go_module_dir "go.k6.io/k6@v$K6_VERSION")" || exit 1
  mkdir -p "$out"
  (cd "$src" && nice -n 10 go build -trimpath -o "$out/k6.tmp" .) || { rm -f "$out/k6.tmp"; die "building k6 $K6_VERSION failed (see above)"; }
  mv -f "$out/k6.tmp" "$out/k6"
  [ "$(k6_version "$out/k6")" = "$K6_VERSION" ] || die "$out/k6 does not report version $K6_VERSION; remove $out and run again."
  progress "built k6 $K6_VERSION in $(( $(date +%s) - t0 ))s: $out/k6"
fi
echo "$out/k6"
