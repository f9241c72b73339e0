#!/usr/bin/env bash
# Stops the local cluster (tooling/cluster/up.sh): the node components first, then the pods'
# containers, then the control plane. Keeps all data (etcd, certificates, volumes), so the next
# up.sh is a warm start. Usage: tooling/cluster/down.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

stopped=0
for c in "${COMPONENTS[@]}"; do running "$c" && stopped=1; done
# The kubelet first: it would restart the pods' containers as fast as they are removed.
stop_components kubelet kube-proxy
# Without kube-proxy its NAT rules would go stale: a NodePort on 127.0.0.1 would still be DNATed to
# a pod address that no longer answers. up.sh's kube-proxy writes them all again at start.
[ "$stopped" = 0 ] || "$BIN/kube-proxy" --cleanup >/dev/null 2>&1 || true

# The pods' containers (cri-dockerd names them k8s_<container>_<pod>_...). Sandboxes (pause) go
# last, so an app container never loses its network while stopping; 5 s to stop, as a pod would.
if docker info >/dev/null 2>&1; then
  apps="$(docker ps -aq --filter name='^/k8s_' | while read -r id; do
    case "$(docker inspect -f '{{.Name}}' "$id")" in /k8s_POD_*) ;; *) echo "$id" ;; esac; done)"
  # shellcheck disable=SC2086
  if [ -n "$apps" ]; then docker stop -t 5 $apps >/dev/null; docker rm -f $apps >/dev/null; fi
  sandboxes="$(pod_containers)"
  # shellcheck disable=SC2086
  [ -z "$sandboxes" ] || docker rm -f $sandboxes >/dev/null
  n=$(( $(echo $apps | wc -w) + $(echo $sandboxes | wc -w) ))
  [ "$n" -eq 0 ] || progress "removed $n pod containers"
fi
# Their sandboxes are gone without a CNI DEL: free the addresses host-local still holds for them.
rm -rf "$DATA/cni/ipam"/* "$DATA/cni/cache"/* "$DATA/cri-dockerd/sandbox"/* 2>/dev/null || true

stop_components cri-dockerd kube-scheduler kube-controller-manager
stop_components kube-apiserver
stop_components etcd   # last: the API server needs it to shut down cleanly
[ "$stopped" = 1 ] && progress "cluster stopped (data kept in $CLUSTER_CACHE; start again: up.sh, wipe: reset.sh)" \
  || progress "cluster is not running"
