#!/usr/bin/env bash
# Ensures the node image the kit's kind cluster starts from, and prints its name on stdout.
#  1. kind's published image for the pinned Kubernetes ($KIND_NODE_IMAGE, by digest), when it is
#     here already or a registry serves it (an attendee's laptop);
#  2. otherwise (no registry: this machine, CI) one built here, kube-selfops/kind-node:VERSION:
#     kind's base recipe on Debian (node/Dockerfile), the binaries build.sh compiles, and the
#     images kubeadm and kind start imported into its containerd, as `kind build node-image`
#     does, but from images built here instead of fetched. Built once; rebuilt when its recipe
#     (these files, the pins) changes.
# The path taken goes to stderr, and to $CLUSTER_CACHE/node-image.path for `./kit cluster status`.
# Usage: tooling/cluster/node-image.sh [--local]    (--local: skip the published image)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODE_DIR="$CLUSTER_DIR/node"
LOCAL_IMAGE="kube-selfops/kind-node:$K8S_VERSION"
PATH_FILE="$CLUSTER_CACHE/node-image.path"
mkdir -p "$CLUSTER_CACHE"

said() { echo "$1" >"$PATH_FILE"; progress "node image: $1"; }

if [ "${1:-}" != --local ]; then
  if docker image inspect "$KIND_NODE_IMAGE" >/dev/null 2>&1; then
    said "kind's published $KIND_NODE_IMAGE (present)"; echo "$KIND_NODE_IMAGE"; exit 0
  fi
  if [ "${KIT_PULL:-1}" = 1 ] && timeout 300 docker pull -q "$KIND_NODE_IMAGE" >/dev/null 2>&1; then
    said "kind's published $KIND_NODE_IMAGE (pulled)"; echo "$KIND_NODE_IMAGE"; exit 0
  fi
fi

# The recipe: this script, the node folder, the Debian base, kind's base files and the pins.
"$KIT_ROOT/tooling/install/images.sh" debian
KIND_SRC="$(use_go kind; go_module_dir "sigs.k8s.io/kind@$KIND_VERSION")" || exit 1
recipe="$( { cat "${BASH_SOURCE[0]}"; find "$NODE_DIR" -type f | sort | xargs cat; \
  docker image inspect -f '{{.Id}}' "kube-selfops/debian:$KIT_DEBIAN_SUITE-minbase"
  echo "$K8S_VERSION $KIND_VERSION $ETCD_VERSION $COREDNS_VERSION $CRICTL_VERSION $LOCAL_PATH_VERSION"; } | sha256sum | cut -c1-12)"
if [ "$(docker image inspect -f '{{index .Config.Labels "kube-selfops.recipe"}}' "$LOCAL_IMAGE" 2>/dev/null)" = "$recipe" ]; then
  said "$LOCAL_IMAGE, built here (no registry serves $KIND_NODE_IMAGE; recipe $recipe)"; echo "$LOCAL_IMAGE"; exit 0
fi

progress "building the node image $LOCAL_IMAGE (no registry serves kind's published one)"
"$CLUSTER_DIR/build.sh" k8s etcd coredns crictl local-path-provisioner >/dev/null

pause_tag="$(sed -nE 's/^TAG \?= ([0-9.]+)$/\1/p' "$(use_go k8s; go_module_dir "k8s.io/kubernetes@$K8S_VERSION")/build/pause/Makefile")"
[ -n "$pause_tag" ] || die "no pause TAG in k8s.io/kubernetes@$K8S_VERSION build/pause/Makefile"
PAUSE_IMAGE="registry.k8s.io/pause:$pause_tag"
# Named as kubeadm asks for them (the same version, built from the same source); etcd and CoreDNS
# are other versions than kubeadm's defaults, so their names are the kit's and the cluster's
# kubeadm config names them (kind-config.sh).
IMAGES=("registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION"
  "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION"
  "kube-selfops/etcd:$ETCD_VERSION" "kube-selfops/coredns:$COREDNS_VERSION" "$PAUSE_IMAGE"
  "kube-selfops/local-path-provisioner:$LOCAL_PATH_VERSION" "kube-selfops/debian:$KIT_DEBIAN_SUITE-minbase")

ctx="$(mktemp -d)"; build_container=""
trap 'rm -rf "$ctx"; [ -z "$build_container" ] || docker rm -f -v "$build_container" >/dev/null 2>&1' EXIT
# image NAME DOCKERFILE_DIR [BINARY]: a component image from a Dockerfile folder and one binary.
image() {
  local name="$1" dir="$2" bin="${3:-}"
  rm -rf "$ctx/img"; cp -a "$NODE_DIR/images/$dir" "$ctx/img"
  [ -z "$bin" ] || cp "$BIN/$bin" "$ctx/img/"
  docker_build_args=(); [ -z "$bin" ] || [ "$dir" != static ] || docker_build_args=(--build-arg "BIN=$bin")
  DOCKER_BUILDKIT=0 docker build -q ${docker_build_args[@]+"${docker_build_args[@]}"} -t "$name" "$ctx/img" >/dev/null 2>"$ctx/build.log" \
    || { cat "$ctx/build.log" >&2; die "building $name failed"; }
}
progress "node image: the cluster's images (control plane, etcd, CoreDNS, pause, storage)"
for c in kube-apiserver kube-controller-manager kube-scheduler; do image "registry.k8s.io/$c:$K8S_VERSION" static "$c"; done
image "registry.k8s.io/kube-proxy:$K8S_VERSION" kube-proxy kube-proxy
image "kube-selfops/etcd:$ETCD_VERSION" static etcd
image "kube-selfops/coredns:$COREDNS_VERSION" coredns coredns
image "kube-selfops/local-path-provisioner:$LOCAL_PATH_VERSION" static local-path-provisioner
apt_install gcc libc6-dev
rm -rf "$ctx/img"; cp -a "$NODE_DIR/images/pause" "$ctx/img"
gcc -Os -Wall -static -DVERSION="v$pause_tag" -o "$ctx/img/pause" \
  "$(go_module_dir "k8s.io/kubernetes@$K8S_VERSION")/build/pause/linux/pause.c" && strip "$ctx/img/pause"
DOCKER_BUILDKIT=0 docker build -q -t "$PAUSE_IMAGE" "$ctx/img" >/dev/null

progress "node image: the node's own layer (Debian's systemd, containerd, runc, CNI plugins; kind's files)"
mkdir -p "$ctx/node/bin"
cp -a "$NODE_DIR/Dockerfile" "$NODE_DIR/manifests" "$ctx/node/"
cp -a "$KIND_SRC/images/base/files" "$ctx/node/files"; chmod -R u+w "$ctx/node/files"
for b in kubeadm kubelet kubectl crictl; do cp "$BIN/$b" "$ctx/node/bin/"; done
DOCKER_BUILDKIT=0 docker build -q --build-arg "PAUSE_IMAGE=$PAUSE_IMAGE" -t "$LOCAL_IMAGE-base" "$ctx/node" >/dev/null 2>"$ctx/build.log" \
  || { tail -n 30 "$ctx/build.log" >&2; die "building the node image's base failed"; }

# As kind build node-image: the images go into the node's containerd (not unpacked: no mounts
# needed here; containerd unpacks them at first use), then the container becomes the image.
progress "node image: importing ${#IMAGES[@]} images into its containerd"
build_container="kit-node-build-$$"
docker run -d --name "$build_container" --entrypoint sleep --security-opt seccomp=unconfined "$LOCAL_IMAGE-base" infinity >/dev/null
docker exec -d "$build_container" sh -c 'containerd >/var/log/containerd-build.log 2>&1'
wait_until 30 docker exec "$build_container" ctr version || die "containerd did not start in the build container"
for img in "${IMAGES[@]}"; do
  docker save "$img" | docker exec -i "$build_container" \
    ctr --namespace=k8s.io images import --label=io.cri-containerd.pinned=pinned --all-platforms --no-unpack --digests - >/dev/null \
    || die "importing $img into the node image failed"
done
docker exec "$build_container" sh -c "echo $K8S_VERSION >/kind/version && pkill containerd; rm -f /var/log/containerd-build.log"
wait_until 10 bash -c "! docker exec $build_container pgrep -x containerd"
docker commit -c 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' -c 'CMD []' \
  -c "LABEL kube-selfops.recipe=$recipe" "$build_container" "$LOCAL_IMAGE" >/dev/null
docker rmi "$LOCAL_IMAGE-base" >/dev/null 2>&1 || true
said "$LOCAL_IMAGE, built here (no registry serves $KIND_NODE_IMAGE; recipe $recipe)"
echo "$LOCAL_IMAGE"
