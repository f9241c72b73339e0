# shellcheck shell=bash disable=SC2034  # a library: its variables are for the scripts that source it
# Shared settings of the kit's cluster scripts: a one-node kind cluster named kube-selfops.
# Source it; don't run it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CLUSTER_DIR="$KIT_ROOT/tooling/cluster"
# Pins: build.sh builds these, node-image.sh puts them in a node image.
K8S_VERSION="${KIT_K8S_VERSION:-v1.34.11}"         # kind v0.33.0 publishes kindest/node:v1.34.11; ≤1.34 runs on cgroup v1
KIND_VERSION="${KIT_KIND_VERSION:-v0.33.0}"
# kind v0.33.0's published node image for that Kubernetes (its release notes), by digest.
KIND_NODE_IMAGE="kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d"
ETCD_VERSION="${KIT_ETCD_VERSION:-v3.5.35}"        # newest v3.5 patch on the proxy
COREDNS_VERSION="${KIT_COREDNS_VERSION:-v1.14.7}"  # newest on the proxy (it lists only v1.14.3-v1.14.7, no v1.12.x)
CRICTL_VERSION="${KIT_CRICTL_VERSION:-v1.34.0}"    # cri-tools follows Kubernetes' minor
LOCAL_PATH_VERSION="${KIT_LOCAL_PATH_VERSION:-v0.0.33}"   # the proxy refuses v0.0.32

CLUSTER_CACHE="$KIT_CACHE/cluster"
BIN="$CLUSTER_CACHE/$K8S_VERSION/bin"
CLUSTER_NAME=kube-selfops
CONTEXT="kind-$CLUSTER_NAME"
NODE="$CLUSTER_NAME-control-plane"         # kind's name for the one node (a Docker container)
# The kit's own kubeconfig (only this cluster), beside the entry kind writes to yours.
KUBECONFIG_KIT="$CLUSTER_CACHE/kubeconfig"

kind() { "$BIN/kind" "$@"; }
kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_KIT" "$@"; }

# cluster_exists: kind knows the cluster (its node container exists, running or not).
cluster_exists() { docker container inspect "$NODE" >/dev/null 2>&1; }
# api_ok: the API server answers /readyz.
api_ok() { [ -f "$KUBECONFIG_KIT" ] && kubectl --request-timeout=3s get --raw /readyz >/dev/null 2>&1; }
