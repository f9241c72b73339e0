#!/usr/bin/env bash
# Brings up the kit's cluster: a one-node kind cluster named kube-selfops (kind.yaml), and waits
# until the node is Ready, CoreDNS answers and the default StorageClass serves. Idempotent: a
# cluster that is up is left as it is; a stopped one (down.sh) is started again, its data kept.
#
# Usage: tooling/cluster/up.sh          then: eval "$(tooling/cluster/env.sh)"; kubectl get pods -A
# Needs Docker only (no root): kind and kubectl are built once from Go modules (build.sh), the node
# image is kind's published one or one built here (node-image.sh). kind adds the context
# kind-kube-selfops to your kubeconfig, as for any kind cluster; the kit's own scripts use a
# kubeconfig of their own with this cluster alone ($KUBECONFIG_KIT).
# Network: the host reaches the cluster on 127.0.0.1 only (the API server's port, kind.yaml's
# NodePorts 30080, 30081, 30090).
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
t0=$(date +%s)

"$KIT_ROOT/tooling/install/docker.sh"
"$CLUSTER_DIR/build.sh" kind kubectl >/dev/null
image="$("$CLUSTER_DIR/node-image.sh")"

# kind starts its node --privileged. An engine that cannot (the host lacks a capability, and the
# engine is not the kit's own with kit-runc) gets a plain answer instead of runc's.
privileged_ok() {
  local out; out="$(docker run --rm --privileged --entrypoint true "kube-selfops/debian:$KIT_DEBIAN_SUITE-minbase" 2>&1)" && return 0
  die "this Docker engine cannot start a --privileged container, which kind's node is:
  ${out##*Error response from daemon: }
  The host's capability bounding set is $(sed -nE 's/^CapBnd:[[:space:]]+//p' /proc/self/status). On an engine the kit starts
  itself (tooling/install/docker.sh) the kit makes tooling/install/kit-runc its default runtime; on yours, add it:
  dockerd --add-runtime kit-runc=$KIT_ROOT/tooling/install/kit-runc --default-runtime kit-runc (needs jq)."
}

# fresh: the node and the cluster's own pods (control plane, kube-proxy, CNI, CoreDNS, storage)
# are Ready as seen since the node container last started. After `down` and `up`, what etcd says
# is from before the stop (Ready, available), so each time must be newer than the node's start
# (RFC 3339 UTC times, compared as text).
fresh() {
  local since heartbeat started ready
  since="$(docker inspect -f '{{.State.StartedAt}}' "$NODE" | cut -c1-19)Z"
  heartbeat="$(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime} {.status.conditions[?(@.type=="Ready")].status}')"
  [[ "${heartbeat% *}" > "$since" || "${heartbeat% *}" == "$since" ]] && [ "${heartbeat#* }" = True ] || return 1
  local lines; lines="$(kubectl get pods -n kube-system -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.state.running.startedAt} {.ready}{"\n"}{end}{end}'
    kubectl get pods -n local-path-storage -o jsonpath='{range .items[*]}{range .status.containerStatuses[*]}{.state.running.startedAt} {.ready}{"\n"}{end}{end}')"
  [ "$(grep -c . <<<"$lines")" -ge 8 ] || return 1   # etcd, 3 of the control plane, proxy, CNI, CoreDNS, storage
  while read -r started ready; do
    [ "$ready" = true ] && [[ "$started" > "$since" || "$started" == "$since" ]] || return 1
  done <<<"$lines"
}

config() {   # the cluster's kind config: kind.yaml, and for the node image built here its images
  cat "$CLUSTER_DIR/kind.yaml"   # ends with its kubeadmConfigPatches list
  if [ "$image" != "$KIND_NODE_IMAGE" ]; then
    sed -e "s/@ETCD_VERSION@/$ETCD_VERSION/" -e "s/@COREDNS_VERSION@/$COREDNS_VERSION/" "$CLUSTER_DIR/kind-local-node.yaml"
  fi
}

create() {
  privileged_ok
  progress "creating the kind cluster $CLUSTER_NAME from $image (about a minute)"
  config >"$CLUSTER_CACHE/kind-config.yaml"
  kind create cluster --name "$CLUSTER_NAME" --image "$image" --config "$CLUSTER_CACHE/kind-config.yaml" \
    --wait 0s >"$CLUSTER_CACHE/kind-create.log" 2>&1 \
    || { tail -n 20 "$CLUSTER_CACHE/kind-create.log" >&2; die "kind create cluster failed (log: $CLUSTER_CACHE/kind-create.log)"; }
}

# Your kubeconfig's entry for the cluster (kind writes it when it creates one: the README's
# `--context kind-kube-selfops`) is written again when it is missing or names another API server
# than this cluster's (one made anew, from a shell whose KUBECONFIG was the kit's own); your
# current context stays what it was.
sync_your_kubeconfig() {
  local file="${KUBECONFIG:-$HOME/.kube/config}" want have current
  file="${file%%:*}"
  [ "$file" != "$KUBECONFIG_KIT" ] || file="$HOME/.kube/config"
  server() { "$BIN/kubectl" --kubeconfig "$1" config view --raw \
    -o jsonpath="{.clusters[?(@.name==\"$CONTEXT\")].cluster.server}" 2>/dev/null || true; }
  want="$(server "$KUBECONFIG_KIT")"; have="$(server "$file")"
  [ -n "$want" ] && [ "$want" != "$have" ] || return 0
  current="$("$BIN/kubectl" --kubeconfig "$file" config current-context 2>/dev/null || true)"
  kind export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$file" >/dev/null 2>&1 || return 0
  [ -z "$current" ] || "$BIN/kubectl" --kubeconfig "$file" config use-context "$current" >/dev/null
  progress "your kubeconfig ($file): context $CONTEXT names this cluster ($want)"
}

# The kit's kubeconfig, written whole into place: kind rewrites a file in place, and a kubectl of
# another process (the other lane of ./kit test, a test's polling) that reads it at that moment
# finds it empty and asks localhost:8080 (a run of the demo beside the operator's e2e test did).
# Unchanged, it is not written at all.
export_kit_kubeconfig() {
  local tmp="$KUBECONFIG_KIT.$$.tmp"
  rm -f "$tmp"
  kind export kubeconfig --name "$CLUSTER_NAME" --kubeconfig "$tmp" >/dev/null 2>&1 \
    || { rm -f "$tmp"; return 1; }
  if cmp -s "$tmp" "$KUBECONFIG_KIT"; then rm -f "$tmp"; else mv -f "$tmp" "$KUBECONFIG_KIT"; fi
}

mkdir -p "$CLUSTER_CACHE"
# A cluster made from another node image (rebuilt since) or another kind config is made anew.
if cluster_exists; then
  why=""
  [ "$(docker inspect -f '{{.Image}}' "$NODE")" = "$(docker image inspect -f '{{.Id}}' "$image")" ] || why="another node image than $image"
  cmp -s <(config) "$CLUSTER_CACHE/kind-config.yaml" || why="${why:+$why and }another kind config than tooling/cluster/kind.yaml"
  if [ -n "$why" ]; then
    progress "the cluster was made from $why: deleting it to create it anew"
    kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1
  fi
fi
if ! cluster_exists; then
  create
elif [ "$(docker inspect -f '{{.State.Running}}' "$NODE")" != true ]; then
  progress "starting the stopped node $NODE (data kept)"
  docker start "$NODE" >/dev/null
fi
export_kit_kubeconfig || die "kind could not write the kubeconfig of $CLUSTER_NAME"
progress "waiting for the node, CoreDNS and the storage provisioner"
if ! wait_until 120 api_ok || ! wait_until 120 fresh; then
  # A node that does not come back (its container was killed mid-write, say) is made anew.
  progress "the cluster did not become ready within 4 min: deleting it and creating it anew"
  kind delete cluster --name "$CLUSTER_NAME" >/dev/null 2>&1
  create
  export_kit_kubeconfig || die "kind could not write the kubeconfig of $CLUSTER_NAME"
  { wait_until 120 api_ok && wait_until 180 fresh; } || die "the cluster is not ready: ./kit cluster status shows what runs"
fi
sync_your_kubeconfig
progress "cluster $CLUSTER_NAME is up in $(( $(date +%s) - t0 ))s (context $CONTEXT; ./kit cluster env)"
