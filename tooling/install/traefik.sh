#!/usr/bin/env bash
# Ensures the pinned Traefik (the ingress controller of k8s/ingress) and prints the path of its
# binary on stdout (with --download: only downloads what the build needs). tooling/install/images.sh
# copies it into the local stand-in for the official image (tooling/install/images/traefik) where no
# registry is reachable; on a machine that can pull, this script is never needed.
# Traefik is in no registry we can reach as a binary, so it is built from its Go module via the
# module proxy, the way upstream's Makefile does: CGO_ENABLED=0 go build -trimpath ./cmd/traefik,
# with the version stamped in by -ldflags. Its web UI (the dashboard) is not in the module (a
# placeholder file only): the kit does not serve it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# github.com/traefik/traefik/v3. Not v3.7.x: every v3.7 go.mod replaces the nested module
# github.com/traefik/traefik/dynamic/ext with ./pkg/config/dynamic/ext, which the module zip
# leaves out (a nested module never is in its parent's zip), so v3.7 cannot be built from the
# proxy alone. v3.6.12 needs nothing but the proxy.
TRAEFIK_VERSION="${KIT_TRAEFIK_VERSION:-3.6.12}"

# traefik_version BIN: the version a traefik binary reports ("Version:      3.6.12").
traefik_version() { "$1" version 2>/dev/null | sed -nE 's/^Version:[[:space:]]+v?([^ ]+)$/\1/p'; }

out="$KIT_CACHE/traefik-$TRAEFIK_VERSION"
built() { [ "$(traefik_version "$out/traefik")" = "$TRAEFIK_VERSION" ]; }
# --download: only fetch what the build needs (nothing to do once it is built).
if [ "${1:-}" = --download ]; then
  built && exit 0
  use_go "Traefik $TRAEFIK_VERSION"
  src="$(go_module_dir "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION")" || exit 1
  go_module_deps "$src" ./cmd/traefik
  exit
fi
if ! built; then
  use_go "Traefik $TRAEFIK_VERSION"
  progress "building Traefik $TRAEFIK_VERSION from github.com/traefik/traefik/v3 with $(go version | cut -d' ' -f3) - a few minutes, once"
  t0=$(date +%s)
  # Its replace directives all point at other modules, so building inside the module is upstream's build.
  src="$(go_module_dir "github.com/traefik/traefik/v3@v$TRAEFIK_VERSION")" || exit 1
  mkdir -p "$out"
  pkg=github.com/traefik/traefik/v3/pkg/version
  (cd "$src" && nice -n 10 go build -trimpath \
      -ldflags "-s -w -X $pkg.Version=$TRAEFIK_VERSION -X $pkg.BuildDate=kube-selfops" \
      -o "$out/traefik.tmp" ./cmd/traefik) \
    || { rm -f "$out/traefik.tmp"; die "building Traefik $TRAEFIK_VERSION failed (see above)"; }
  mv -f "$out/traefik.tmp" "$out/traefik"
  built || die "$out/traefik does not report version $TRAEFIK_VERSION; remove $out and run again."
  progress "built Traefik $TRAEFIK_VERSION in $(( $(date +%s) - t0 ))s: $out/traefik"
fi
echo "$out/traefik"
