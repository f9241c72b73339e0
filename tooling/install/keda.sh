#!/usr/bin/env bash
# Ensures the pinned KEDA (kedacore/keda: its operator and its metrics server, for `./kit bench
# autoscalers` only, never CI) and prints the folder of its two binaries on stdout.
# tooling/install/images.sh copies them into the local stand-ins for the official images
# (tooling/install/images/keda*) where no registry is reachable; on a machine that can pull, only
# --manifests is needed.
# Built from its Go module via the module proxy as upstream's Makefile does (CGO_ENABLED=0 go build
# of cmd/operator and cmd/adapter, the version stamped with -X). `go install ...@v2.21.0` does not
# work here: it asks the proxy for the version list, which the proxy refuses. go_module_dir + go
# build inside the module does (its one replace directive is served). Slow: the metrics server
# links every scaler (3,680 packages, ~1.3 GB of modules); both took 15 min 9 s on 2 cores
# (the modules already downloaded: ~1.5 min more on a new machine), once.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

# github.com/kedacore/keda/v2, pinned exactly: the proxy serves v2.21.0, not the newer tags.
KEDA_VERSION="${KIT_KEDA_VERSION:-v2.21.0}"

out="$KIT_CACHE/keda-$KEDA_VERSION"
# A stamp written after both binaries built and ran says which version they are.
built() { [ "$(cat "$out/VERSION" 2>/dev/null)" = "$KEDA_VERSION" ] && [ -x "$out/keda" ] && [ -x "$out/keda-adapter" ]; }
# --built: exit 0 if both binaries are built (`./kit bench autoscalers` includes KEDA by default then).
[ "${1:-}" = --built ] && { built; exit; }
# --manifests: KEDA's install as k8s/keda renders it (upstream's config/ of the pinned module,
# beside the overlay: kustomize reads nothing outside its root), on stdout. Needs kubectl.
if [ "${1:-}" = --manifests ]; then
  use_go "KEDA $KEDA_VERSION"
  src="$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")" || exit 1
  tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
  cp -r "$src/config" "$tmp/config" && cp -r "$KIT_ROOT/k8s/keda" "$tmp/overlay" && chmod -R u+w "$tmp"
  kubectl kustomize "$tmp/overlay"
  exit
fi
# --uninstall: removes what --manifests installed (its objects carry upstream's part-of label),
# and the APIService only if KEDA serves it (else it is the HPA's adapter's). Needs kubectl.
if [ "${1:-}" = --uninstall ]; then
  [ "$(kubectl get apiservice v1beta1.external.metrics.k8s.io --ignore-not-found -o jsonpath='{.spec.service.namespace}')" = keda ] \
    && kubectl delete apiservice v1beta1.external.metrics.k8s.io
  kubectl delete namespace keda --ignore-not-found
  kubectl delete crd,clusterrole,clusterrolebinding -l app.kubernetes.io/part-of=keda-operator --ignore-not-found
  kubectl -n kube-system delete rolebinding -l app.kubernetes.io/part-of=keda-operator --ignore-not-found
  exit
fi
if ! built; then
  use_go "KEDA $KEDA_VERSION"
  progress "building KEDA $KEDA_VERSION (operator, metrics server) from github.com/kedacore/keda/v2 with $(go version | cut -d' ' -f3) - about 15 minutes, once"
  t0=$(date +%s)
  src="$(go_module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")" || exit 1
  mkdir -p "$out"; rm -f "$out/VERSION"
  ldflags="-s -w -X=github.com/kedacore/keda/v2/version.Version=${KEDA_VERSION#v} -X=github.com/kedacore/keda/v2/version.GitCommit=$KEDA_VERSION"
  # binary:package:a flag its --help must list
  for bin in keda:operator:--metrics-service-bind-address keda-adapter:adapter:--secure-port; do
    IFS=: read -r name cmd flag <<<"$bin"
    progress "KEDA $KEDA_VERSION: go build ./cmd/$cmd -> $name"
    (cd "$src" && CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$out/$name.tmp" "./cmd/$cmd") \
      || { rm -f "$out/$name.tmp"; die "building KEDA's $cmd $KEDA_VERSION failed (see above)"; }
    # (--help exits 2, as pflag does: the usage text is the proof that it runs.)
    usage="$("$out/$name.tmp" --help 2>&1 || true)"
    grep -q -- "$flag" <<<"$usage" || { tail -n 20 <<<"$usage" >&2; die "the built $out/$name.tmp does not run (--help)"; }
    mv -f "$out/$name.tmp" "$out/$name"
  done
  echo "$KEDA_VERSION" >"$out/VERSION"
  progress "built KEDA $KEDA_VERSION in $(( $(date +%s) - t0 ))s: $out"
fi
echo "$out"
