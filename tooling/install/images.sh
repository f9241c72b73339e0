#!/usr/bin/env bash
# Ensures the base images the kit's Dockerfiles start FROM (and the ones its tests run).
# Usage: tooling/install/images.sh [NAME...]   (names of folders in tooling/install/images; default: all but KEDA's
# two, which only `./kit bench autoscalers` uses and which take ~20 min to build here; `debian`:
# the Debian base alone, which the kind node image builds on)
# An image that is present is used as it is. A missing one is pulled; where no registry is
# reachable it is built here under the very same name, from Debian's packages (debootstrap)
# and the npm registry's Node.js, so the steps' Dockerfiles stay what an attendee runs.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
IMAGES_DIR="$KIT_ROOT/tooling/install/images"
BASE=kube-selfops/debian:$KIT_DEBIAN_SUITE-minbase

ensure_debian_base() {
  docker image inspect "$BASE" >/dev/null 2>&1 && return 0
  local tarball="$KIT_CACHE/debian-$KIT_DEBIAN_SUITE-minbase.tar"
  if [ ! -f "$tarball" ]; then
    is_root || die "building base images needs root (debootstrap). Run as root, or on a machine that can pull images."
    apt_install debootstrap
    # The archive this machine's apt uses (KIT_DEBIAN_MIRROR overrides), and apt's proxy if it
    # has one: debootstrap reads neither apt's sources nor its configuration.
    local mirror; mirror="$("$KIT_ROOT/tooling/install/debian-mirror.sh" "$KIT_DEBIAN_SUITE")"
    if [ -z "${http_proxy:-}" ] && command -v apt-config >/dev/null; then
      eval "$(apt-config shell http_proxy Acquire::http::Proxy)"; export http_proxy
    fi
    progress "debootstrap $KIT_DEBIAN_SUITE (minbase) from $mirror - about 1 minute, once"
    local root; root="$(mktemp -d)"
    debootstrap --variant=minbase --include=ca-certificates "$KIT_DEBIAN_SUITE" "$root" "$mirror" \
      >"$KIT_CACHE/debootstrap.log" 2>&1 \
      || die "debootstrap from $mirror failed; see $KIT_CACHE/debootstrap.log (KIT_DEBIAN_MIRROR=URL picks another archive)"
    # Trust the same extra CAs as this machine (a TLS-intercepting proxy, for instance), so npm
    # inside `docker build` reaches the registry. Only in this local stand-in, never in a step.
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
      cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
      chroot "$root" update-ca-certificates >/dev/null 2>&1
      mkdir -p "$root/usr/local/etc" && echo "cafile=/etc/ssl/certs/ca-certificates.crt" >"$root/usr/local/etc/npmrc"
    fi
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/{doc,man,locale}/*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  progress "importing $BASE"
  docker import -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$tarball" "$BASE" >/dev/null
}

ensure_image() {
  local dir="$IMAGES_DIR/$1" name hash ctx
  name="$(image_of "$1")"
  # The recipe: the folder's files and the pinned versions they are built with.
  hash="$(cd "$dir" && { cat ./*; echo "$KIT_NODE_VERSION $KIT_NPM_VERSION $KIT_DEBIAN_SUITE"; } | sha256sum | cut -c1-12)"
  local have; have="$(docker image inspect -f '{{index .Config.Labels "kube-selfops.recipe"}}' "$name" 2>/dev/null || echo missing)"
  # Present and official (no label), or built here from the current recipe: nothing to do.
  if [ "$have" = "" ] || [ "$have" = "$hash" ]; then return 0; fi
  if [ "$have" = missing ] && [ "${KIT_PULL:-1}" = 1 ] && timeout 120 docker pull -q "$name" >/dev/null 2>&1; then
    progress "pulled $name"; return 0
  fi
  ensure_debian_base
  progress "building $name locally (no registry reachable)"
  ctx="$(mktemp -d)"; cp -a "$dir/." "$ctx/"
  [ "$1" = node ] && cp -a "$("$KIT_ROOT/tooling/install/node.sh")/.." "$ctx/node" && rm -rf "$ctx/node/include"
  # Traefik: the binary built from its Go module, at the version the image's tag names.
  [ "$1" = traefik ] && cp "$(KIT_TRAEFIK_VERSION="${name#traefik:v}" "$KIT_ROOT/tooling/install/traefik.sh")" "$ctx/traefik"
  # prometheus-adapter (the HPA's external metrics): likewise, from its Go module.
  [ "$1" = prometheus-adapter ] && cp "$(KIT_PROMETHEUS_ADAPTER_VERSION="${name##*:}" "$KIT_ROOT/tooling/install/prometheus-adapter.sh")" "$ctx/adapter"
  # KEDA's operator and metrics server (`./kit bench autoscalers` only): likewise, both from its module.
  [ "$1" = keda ] && cp "$(KIT_KEDA_VERSION="v${name##*:}" "$KIT_ROOT/tooling/install/keda.sh")/keda" "$ctx/keda"
  [ "$1" = keda-metrics-apiserver ] && cp "$(KIT_KEDA_VERSION="v${name##*:}" "$KIT_ROOT/tooling/install/keda.sh")/keda-adapter" "$ctx/keda-adapter"
  DOCKER_BUILDKIT=0 docker build -q --label "kube-selfops.recipe=$hash" -t "$name" "$ctx" >/dev/null 2>"$KIT_CACHE/build-$1.log" \
    || { rm -rf "$ctx"; die "building $name failed; see $KIT_CACHE/build-$1.log"; }
  rm -rf "$ctx"
}

"$KIT_ROOT/tooling/install/docker.sh"
if [ $# -eq 0 ]; then   # every folder but the benchmark's (keda*)
  for dir in "$IMAGES_DIR"/*; do case "${dir##*/}" in keda*) ;; *) set -- "$@" "${dir##*/}" ;; esac; done
fi
for image in "$@"; do
  if [ "$image" = debian ]; then ensure_debian_base; else ensure_image "$image"; fi
done
