# Shared settings and helpers of the local cluster scripts (up, down, status, reset, smoke, env).
# Source it; don't run it.
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

CLUSTER_DIR="$KIT_ROOT/tooling/cluster"
# Pins (build.sh builds these; the scripts below expect the same).
K8S_VERSION="${KIT_K8S_VERSION:-v1.34.4}"          # newest v1.34 patch on the proxy (2026-11); ≤1.34 runs on cgroup v1
ETCD_VERSION="${KIT_ETCD_VERSION:-v3.5.35}"        # newest v3.5 patch on the proxy
CRI_DOCKERD_VERSION="${KIT_CRI_DOCKERD_VERSION:-v0.4.3}"
COREDNS_VERSION="${KIT_COREDNS_VERSION:-v1.14.7}"  # newest on the proxy (it lists only v1.14.3-v1.14.7, no v1.12.x)

CLUSTER_CACHE="$KIT_CACHE/cluster"
BIN="$CLUSTER_CACHE/$K8S_VERSION/bin"
DATA="$CLUSTER_CACHE/data"        # etcd, kubelet, cri-dockerd and CNI state
PKI="$CLUSTER_CACHE/pki"          # certificates and kubeconfigs
RUN="$CLUSTER_CACHE/run"          # pid files, logs, sockets, generated configs
PV_DIR="$CLUSTER_CACHE/pv"        # hostPath PersistentVolumes
KUBECONFIG_ADMIN="$PKI/admin.kubeconfig"

# Network plan. Host traffic goes to 127.0.0.1 only; the API server advertises an address on the
# pod bridge that these scripts create, so pods reach it through the `kubernetes` Service without
# anything pointing at eth0.
NODE_NAME=kube-selfops
BRIDGE=cni0
NODE_IP=10.244.0.1                 # cni0's address: pod gateway, API advertise address, kubelet
POD_SUBNET=10.244.0.0/24           # this node's pods (host-local IPAM)
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/12
API_SERVICE_IP=10.96.0.1
DNS_SERVICE_IP=10.96.0.10
FW_CHAIN=KIT-CLUSTER               # our filter chain (pod traffic policy), jumped to from FORWARD
# Host settings the components change (kube-proxy: route_localnet; kubelet: its kernel defaults).
HOST_SYSCTLS=(net/ipv4/conf/all/route_localnet vm/overcommit_memory vm/panic_on_oom kernel/panic
              kernel/panic_on_oops kernel/keys/root_maxkeys kernel/keys/root_maxbytes)

PAUSE_IMAGE=registry.k8s.io/pause:3.10       # the name kubelet and cri-dockerd expect
COREDNS_IMAGE="kube-selfops/coredns:$COREDNS_VERSION"

# Everything the cluster runs on the host, in start order.
COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler cri-dockerd kubelet kube-proxy)

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }

# pid_of NAME: the pid of a running component (from its pid file, checked against /proc), or fail.
pid_of() {
  local pid; pid="$(cat "$RUN/$1.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  # The pid may have been reused by something else since: the command line must name our binary.
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "^$BIN/$1 " || return 1
  echo "$pid"
}
running() { pid_of "$1" >/dev/null; }

# stop_components NAME...: SIGTERM to all that run, wait up to 10 s for them together, then SIGKILL.
stop_components() {
  local c pid pids=() names=() i left
  for c in "$@"; do
    if pid="$(pid_of "$c")"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); names+=("$c"); fi
    rm -f "$RUN/$c.pid"
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  for i in $(seq 1 100); do
    left=0; for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && left=1; done
    [ "$left" = 0 ] && break; sleep 0.1
  done
  for i in "${!pids[@]}"; do
    [ -d "/proc/${pids[$i]}" ] && { progress "${names[$i]} ignored SIGTERM for 10 s; killing it"; kill -KILL "${pids[$i]}" 2>/dev/null || true; }
  done
  progress "stopped ${names[*]}"
}

# api_ok: the API server answers /readyz on 127.0.0.1.
api_ok() {
  curl -fsS --max-time 2 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    https://127.0.0.1:6443/readyz >/dev/null 2>&1
}

# pod_containers: ids of the containers cri-dockerd started for pods (all named k8s_...).
pod_containers() { docker ps -aq --filter name='^/k8s_' 2>/dev/null; }

# recycle_pvs: a Released volume of ours (its claim was deleted) is emptied and made Available again.
# One run at a time (flock): the two lanes of the cluster suite delete namespaces at once, and two
# runs that both saw a volume Released would both empty it and unbind it, the second perhaps after
# a new claim had bound it (a CI run failed on the second unbind). The unbind also tests that the
# claim is still the deleted one.
recycle_pvs() {
  local pv path uid
  mkdir -p "$PV_DIR"
  (
    flock 9
    for pv in $(kubectl get pv -l kube-selfops/storage=hostpath -o jsonpath='{range .items[?(@.status.phase=="Released")]}{.metadata.name}{" "}{end}'); do
      path="$(kubectl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')"
      uid="$(kubectl get pv "$pv" -o jsonpath='{.spec.claimRef.uid}')"
      case "$path" in "$PV_DIR"/*) ;; *) continue ;; esac
      find "$path" -mindepth 1 -delete
      kubectl patch pv "$pv" --type json -p "[{\"op\":\"test\",\"path\":\"/spec/claimRef/uid\",\"value\":\"$uid\"},{\"op\":\"remove\",\"path\":\"/spec/claimRef\"}]" >/dev/null
      progress "volume $pv recycled"
    done
  ) 9>>"$PV_DIR/.recycle.lock"
}
