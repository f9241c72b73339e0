#!/usr/bin/env bash
# Shows the kit's cluster: its node container, which node image it runs (and why), whether the
# node is Ready, and the pods. Exit status: 0 = up and the node Ready; 1 = otherwise.
# Usage: tooling/cluster/status.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
if ! docker info >/dev/null 2>&1; then echo "cluster: down (no Docker engine)"; exit 1; fi
if ! cluster_exists; then echo "cluster: none (./kit cluster up creates it)"; exit 1; fi
echo "node $NODE: $(docker inspect -f '{{.State.Status}}, image {{.Config.Image}}' "$NODE")"
[ -f "$CLUSTER_CACHE/node-image.path" ] && echo "node image: $(cat "$CLUSTER_CACHE/node-image.path")"
if [ "$(docker inspect -f '{{.State.Running}}' "$NODE")" != true ]; then echo "cluster: stopped (./kit cluster up starts it)"; exit 1; fi
if ! api_ok; then echo "cluster: API server not answering"; exit 1; fi
ready="$(kubectl get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
echo "node $NODE Ready: ${ready:-unknown}"
kubectl get pods -A -o wide 2>/dev/null | sed 's/^/  /'
echo "context $CONTEXT; KUBECONFIG=$KUBECONFIG_KIT  kubectl: $BIN/kubectl   (or: eval \"\$(./kit cluster env)\")"
[ "$ready" = True ] || { echo "cluster: degraded (node not Ready)"; exit 1; }
echo "cluster: up"
