#!/usr/bin/env bash
# Shows what of the local cluster runs (pid, memory), whether the node is Ready, and the pods.
# Exit status: 0 = all components run and the node is Ready; 1 = otherwise (down or broken).
# Usage: tooling/cluster/status.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

up=0 down=0 total_kib=0
for c in "${COMPONENTS[@]}"; do
  if pid="$(pid_of "$c")"; then
    rss="$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")"; total_kib=$(( total_kib + rss ))
    printf '  %-24s running  pid %-7s RSS %4d MiB\n' "$c" "$pid" $(( rss / 1024 ))
    up=$(( up + 1 ))
  else
    printf '  %-24s stopped\n' "$c"; down=$(( down + 1 ))
  fi
done
printf '  %-24s          total RSS %4d MiB\n' "" $(( total_kib / 1024 ))
if [ "$up" -eq 0 ]; then echo "cluster: down"; exit 1; fi
if ! api_ok; then echo "cluster: API server not answering on 127.0.0.1:6443"; exit 1; fi
ready="$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null || true)"
echo "node $NODE_NAME Ready: ${ready:-unknown}"
kubectl get pods -A -o wide 2>/dev/null | sed 's/^/  /'
echo "KUBECONFIG=$KUBECONFIG_ADMIN  kubectl: $BIN/kubectl   (or: eval \"\$(tooling/cluster/env.sh)\")"
[ "$down" -eq 0 ] && [ "$ready" = True ] || { echo "cluster: degraded ($down component(s) stopped)"; exit 1; }
echo "cluster: up"
