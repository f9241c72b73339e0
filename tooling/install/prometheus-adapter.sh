#!/usr/bin/env bash
# Ensures the pinned prometheus-adapter (the HPA's bridge to Prometheus, k8s/prometheus-adapter)
# and prints the path of its binary on stdout (with --download: only downloads what the build
# needs). tooling/install/images.sh copies it into the local stand-in for the official image
# (tooling/install/images/prometheus-adapter) where no registry is reachable; on a machine that can pull,
# this script is never needed.
# Built from its Go module via the module proxy as upstream's Makefile does (CGO_ENABLED=0
# go build ./cmd/adapter). `go install ...@v0.12.0` does not work here: it asks the proxy for the
# version list, which the proxy refuses. go_module_dir + go build inside the module does.
# About 4 min on 2 cores, once (92 modules, 64 MB download).
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# sigs.k8s.io/prometheus-adapter, pinned exactly: the proxy serves v0.12.0 (2024-05), not the
# newer tags. Its go.mod has no replace directives, so building inside it is upstream's build.
ADAPTER_VERSION="${KIT_PROMETHEUS_ADAPTER_VERSION:-v0.12.0}"

out="$KIT_CACHE/prometheus-adapter-$ADAPTER_VERSION"
# The binary prints no version; a stamp written after a successful build says which it is.
built() { [ "$(cat "$out/VERSION" 2>/dev/null)" = "$ADAPTER_VERSION" ] && [ -x "$out/adapter" ]; }
# --download: only fetch what the build needs (nothing to do once it is built).
if [ "${1:-}" = --download ]; then
  built && exit 0
  use_go "prometheus-adapter $ADAPTER_VERSION"
  src="$(go_module_dir "sigs.k8s.io/prometheus-adapter@$ADAPTER_VERSION")" || exit 1
  go_module_deps "$src" ./cmd/adapter
  exit
fi
if ! built; then
  use_go "prometheus-adapter $ADAPTER_VERSION"
  progress "building prometheus-adapter $ADAPTER_VERSION from sigs.k8s.io/prometheus-adapter with $(go version | cut -d' ' -f3) - about 4 minutes, once"
  t0=$(date +%s)
  src="$(go_module_dir "sigs.k8s.io/prometheus-adapter@$ADAPTER_VERSION")" || exit 1
  mkdir -p "$out"; rm -f "$out/VERSION"
  (cd "$src" && nice -n 10 go build -trimpath -ldflags "-s -w" -o "$out/adapter.tmp" ./cmd/adapter) \
    || { rm -f "$out/adapter.tmp"; die "building prometheus-adapter $ADAPTER_VERSION failed (see above)"; }
  # (--help exits 2, as pflag does: the usage text is the proof that it runs.)
  usage="$("$out/adapter.tmp" --help 2>&1 || true)"
  grep -q -- --prometheus-url <<<"$usage" || die "the built $out/adapter.tmp does not run (--help)"
  mv -f "$out/adapter.tmp" "$out/adapter"
  echo "$ADAPTER_VERSION" >"$out/VERSION"
  progress "built prometheus-adapter $ADAPTER_VERSION in $(( $(date +%s) - t0 ))s: $out/adapter"
fi
echo "$out/adapter"
