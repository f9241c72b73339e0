#!/usr/bin/env bash
# Deletes the kit's cluster (kind delete cluster: the node, its data, its kubeconfig entries).
# Keeps the built binaries and the node image; --images removes the node image built here too.
# Usage: tooling/cluster/reset.sh [--images]
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if [ -x "$BIN/kind" ]; then kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1 || true
elif cluster_exists; then docker rm -f -v "$NODE" >/dev/null; fi
rm -f "$KUBECONFIG_KIT"
progress "cluster $CLUSTER_NAME deleted"
if [ "${1:-}" = --images ]; then
  img="kube-selfops/kind-node:$K8S_VERSION"
  docker image inspect "$img" >/dev/null 2>&1 && docker rmi "$img" >/dev/null && progress "removed image $img"
fi
exit 0
