#!/usr/bin/env bash
# Brings up a local one-node Kubernetes cluster whose pods run images from the local Docker engine
# (`docker build` output, imagePullPolicy Never/IfNotPresent; no registry), and waits until the
# node is Ready and CoreDNS answers. Idempotent: when everything already runs it says so and exits.
#
# Usage: tooling/cluster/up.sh          then: eval "$(tooling/cluster/env.sh)"; kubectl get pods -A
# Needs root (bridge, iptables, kubelet) and Docker. Binaries: build.sh (cached; ~13 min cold).
# Processes run in the background (setsid) with pid files and logs in $KIT_CACHE/cluster/run/;
# state (etcd, kubelet, certs, volumes) lives in $KIT_CACHE/cluster/. Stop: down.sh. Wipe: reset.sh.
#
# Network: everything the host sends goes to 127.0.0.1 (API server :6443, NodePorts, port-forward).
# The node's address is 10.244.0.1 on the pod bridge cni0 created here (the API server advertises
# it, so pods reach the API through the `kubernetes` Service); pods have no egress (no NAT, and
# KIT-CLUSTER drops anything leaving cni0); CoreDNS has no upstream.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PATH="$PATH:/usr/sbin:/sbin"

is_root || die "up.sh needs root: it creates a bridge and iptables rules and runs the kubelet."

# wait_for LABEL SECONDS CMD...: poll CMD every 0.25 s until it succeeds; die with a hint if not.
wait_for() {
  local label="$1" secs="$2" end; shift 2
  end=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || die "$label: not within ${secs}s; see the logs in $RUN/"
    # A component that exited will not come back by waiting: show why it stopped.
    local c; for c in "${STARTED[@]}"; do
      running "$c" || { tail -n 5 "$RUN/$c.log" >&2; die "$c exited while waiting for: $label (log: $RUN/$c.log)"; }
    done
    sleep 0.25
  done
}
STARTED=()

# start NAME ARGS...: start bin/NAME in the background unless it already runs.
start() {
  local name="$1"; shift
  STARTED+=("$name")
  if running "$name"; then return 0; fi
  [ -f "$RUN/$name.log" ] && mv -f "$RUN/$name.log" "$RUN/$name.log.1"
  # setsid: the component outlives this shell. The pid is that of the component itself.
  # Without the descriptors this shell inherited beyond 0-2 (a caller's `flock` lock, for one):
  # a component that outlives this script must not hold the caller's lock for good.
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd="${fd##*/}"
      if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    exec setsid "$BIN/$name" "$@" >"$RUN/$name.log" 2>&1 </dev/null
  ) &
  echo $! >"$RUN/$name.pid"
  progress "started $name (pid $!, log $RUN/$name.log)"
}

# --- the quick path ---------------------------------------------------------------------------------
node_ready() {
  [ "$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" = True ]
}
# The Ready condition is stored in etcd, so after down.sh it still says True: trust it only once
# the kubelet has renewed it since it (re)started.
node_ready_fresh() {
  node_ready || return 1
  local hb kubelet_start
  hb="$(kubectl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].lastHeartbeatTime}')"
  kubelet_start="$(cat "$RUN/kubelet.started" 2>/dev/null || echo 0)"
  [ "$(date -d "$hb" +%s)" -ge "$kubelet_start" ]
}
# dns_answers: a real query to CoreDNS, sent from inside its own pod's network namespace (so the
# host talks to no pod or Service address).
dns_answers() {
  local id pid
  id="$(docker ps -q --filter label=io.kubernetes.container.name=coredns --filter label=io.kubernetes.pod.namespace=kube-system | head -n1)"
  [ -n "$id" ] || return 1
  pid="$(docker inspect -f '{{.State.Pid}}' "$id")"
  [ "$(nsenter -t "$pid" -n dig +short +time=1 +tries=1 @127.0.0.1 kubernetes.default.svc.cluster.local)" = "$API_SERVICE_IP" ]
}
all_running() { local c; for c in "${COMPONENTS[@]}"; do running "$c" || return 1; done; }

if [ -x "$BIN/kubectl" ] && all_running && node_ready_fresh && dns_answers; then
  progress "cluster is already up (node $NODE_NAME Ready, CoreDNS answers); nothing to do"
  echo "export KUBECONFIG=$KUBECONFIG_ADMIN PATH=$BIN:\$PATH"
  exit 0
fi

# --- binaries, packages, images ---------------------------------------------------------------------
stage_t0=$(date +%s)
stage() { progress "── $* (+$(( $(date +%s) - stage_t0 ))s)"; }

stage "binaries"
"$CLUSTER_DIR/build.sh" >/dev/null
# socat + nsenter: kubectl port-forward (cri-dockerd); conntrack, iptables: kube-proxy; dig: the
# DNS check above; gcc/libc6-dev: the static pause binary.
apt_install containernetworking-plugins iptables socat conntrack util-linux dnsutils gcc libc6-dev openssl curl
"$KIT_ROOT/tooling/docker.sh"
mkdir -p "$DATA" "$PKI" "$RUN" "$PV_DIR"

# build_image NAME DIR [FILE...]: docker build DIR (plus FILEs copied into the context) as NAME,
# unless NAME was already built from the same inputs (label kube-selfops.recipe).
build_image() {
  local name="$1" dir="$2" hash have ctx; shift 2
  hash="$(cat "$dir"/* "$@" | sha256sum | cut -c1-12)"
  have="$(docker image inspect -f '{{index .Config.Labels "kube-selfops.recipe"}}' "$name" 2>/dev/null || true)"
  [ "$have" = "$hash" ] && return 0
  progress "building image $name"
  ctx="$(mktemp -d)"; cp -a "$dir/." "$@" "$ctx/"
  [ -f "$ctx/pause.c" ] && gcc -Os -static -o "$ctx/pause" "$ctx/pause.c" && strip "$ctx/pause"
  DOCKER_BUILDKIT=0 docker build -q --label "kube-selfops.recipe=$hash" -t "$name" "$ctx" >/dev/null 2>"$RUN/build-image.log" \
    || { rm -rf "$ctx"; die "building $name failed; see $RUN/build-image.log"; }
  rm -rf "$ctx"
}
stage "images"
build_image "$PAUSE_IMAGE" "$CLUSTER_DIR/images/pause"
build_image "$COREDNS_IMAGE" "$CLUSTER_DIR/images/coredns" "$BIN/coredns"

# --- PKI and kubeconfigs ----------------------------------------------------------------------------
# Bump when certificates must change (names, SANs): the whole PKI is then made again.
PKI_RECIPE="1 $NODE_NAME $NODE_IP $API_SERVICE_IP"

# cert NAME CN O USAGE [SAN]: an EC key and a certificate signed by the cluster CA.
cert() {
  local name="$1" cn="$2" o="$3" usage="$4" san="${5:-}" ext
  [ -f "$PKI/$name.crt" ] && return 0
  ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=$usage"
  [ -n "$san" ] && ext+=$'\n'"subjectAltName=$san"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$PKI/$name.key" \
    -subj "${o:+/O=$o}/CN=$cn" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 3650 -extfile <(echo "$ext") -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}
# kubeconfig NAME USER: $PKI/NAME.kubeconfig for USER's client certificate, server 127.0.0.1:6443.
kubeconfig() {
  cat >"$PKI/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: kube-selfops
    cluster: { server: "https://127.0.0.1:6443", certificate-authority: "$PKI/ca.crt" }
users:
  - name: $2
    user: { client-certificate: "$PKI/$1.crt", client-key: "$PKI/$1.key" }
contexts:
  - name: kube-selfops
    context: { cluster: kube-selfops, user: $2, namespace: default }
current-context: kube-selfops
EOF
}
stage "certificates"
if [ "$(cat "$PKI/.recipe" 2>/dev/null)" != "$PKI_RECIPE" ]; then
  progress "creating the cluster CA and certificates in $PKI"
  rm -rf "$PKI"; mkdir -p "$PKI"; chmod 700 "$PKI"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -keyout "$PKI/ca.key" -out "$PKI/ca.crt" \
    -days 3650 -subj "/CN=kube-selfops-ca" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
  cert apiserver kube-apiserver "" serverAuth \
    "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,DNS:$NODE_NAME,IP:127.0.0.1,IP:$API_SERVICE_IP,IP:$NODE_IP"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
  cert admin kubernetes-admin system:masters clientAuth
  cert kubelet "system:node:$NODE_NAME" system:nodes clientAuth
  cert kubelet-serving "$NODE_NAME" "" serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
  cert kube-controller-manager system:kube-controller-manager "" clientAuth
  cert kube-scheduler system:kube-scheduler "" clientAuth
  cert kube-proxy system:kube-proxy "" clientAuth
  # Service-account tokens are signed with this key (EC P-256 → ES256) and checked with its public half.
  openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null | openssl pkey -out "$PKI/sa.key"
  openssl pkey -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub"
  echo "$PKI_RECIPE" >"$PKI/.recipe"
fi
for kc in admin:kubernetes-admin kubelet:system:node:$NODE_NAME kube-controller-manager:system:kube-controller-manager \
          kube-scheduler:system:kube-scheduler kube-proxy:system:kube-proxy; do
  kubeconfig "${kc%%:*}" "${kc#*:}"
done

# --- network ----------------------------------------------------------------------------------------
stage "network"
# The pod bridge exists before any pod, with the gateway address that the node and the API server
# use. The CNI bridge plugin adopts it as it is.
ip link show "$BRIDGE" >/dev/null 2>&1 || ip link add "$BRIDGE" type bridge
ip -4 addr show dev "$BRIDGE" | grep -q "inet $NODE_IP/24" || ip addr add "$NODE_IP/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
[ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null)" = 1 ] \
  || progress "warning: net.bridge.bridge-nf-call-iptables is not 1; Service traffic between pods may fail"
# Docker sets the FORWARD policy to DROP: allow pod-to-pod traffic on cni0 and drop everything else
# that would leave or enter the bridge (pods have no egress; ipMasq is off too). Our own chain,
# first in FORWARD, so reset.sh removes exactly what was added here.
iptables -w -N "$FW_CHAIN" 2>/dev/null || iptables -w -F "$FW_CHAIN"
iptables -w -A "$FW_CHAIN" -i "$BRIDGE" -o "$BRIDGE" -j ACCEPT
iptables -w -A "$FW_CHAIN" -i "$BRIDGE" -j DROP
iptables -w -A "$FW_CHAIN" -o "$BRIDGE" -j DROP
iptables -w -C FORWARD -j "$FW_CHAIN" 2>/dev/null || iptables -w -I FORWARD 1 -j "$FW_CHAIN"
# kube-proxy turns on route_localnet (NodePorts on 127.0.0.1) and the kubelet sets its kernel
# defaults (overcommit, panic on oops, ...): remember the values once, so reset.sh restores them.
if [ ! -f "$CLUSTER_CACHE/sysctl.orig" ]; then
  for k in "${HOST_SYSCTLS[@]}"; do [ -r "/proc/sys/$k" ] && echo "$k $(cat "/proc/sys/$k")"; done >"$CLUSTER_CACHE/sysctl.orig"
fi
mkdir -p "$DATA/cni/net.d" "$DATA/cni/cache" "$DATA/cni/ipam"
cat >"$DATA/cni/net.d/10-kube-selfops.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "kube-selfops",
  "plugins": [
    {
      "type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {
        "type": "host-local", "dataDir": "$DATA/cni/ipam",
        "ranges": [[{ "subnet": "$POD_SUBNET", "gateway": "$NODE_IP" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
EOF

# --- control plane ----------------------------------------------------------------------------------
stage "etcd"
# Client and peer on loopback only. --unsafe-no-fsync: a throw-away cluster on a shared disk; losing
# the last writes on a crash is fine, waiting for fsync on every write is not.
start etcd --name default --data-dir "$DATA/etcd" --unsafe-no-fsync \
  --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
  --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
  --initial-cluster default=http://127.0.0.1:2380 --log-level warn
wait_for "etcd health" 60 curl -fsS --max-time 1 http://127.0.0.1:2379/health

stage "kube-apiserver"
start kube-apiserver \
  --etcd-servers=http://127.0.0.1:2379 \
  --secure-port=6443 --advertise-address="$NODE_IP" \
  --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
  --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --profiling=false
wait_for "kube-apiserver /readyz" 120 api_ok

stage "controller-manager, scheduler"
# No leader election: one instance each, and a restart must not wait for the old lease to expire.
start kube-controller-manager \
  --kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$PKI/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr="$CLUSTER_CIDR" --node-cidr-mask-size=24 \
  --service-cluster-ip-range="$SERVICE_CIDR" --profiling=false
start kube-scheduler \
  --kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$PKI/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false

# --- add-ons (applied while the node comes up) ------------------------------------------------------
stage "add-ons: storage, CoreDNS"
kubectl apply -f "$CLUSTER_DIR/manifests/storage.yaml" >/dev/null
for i in 0 1 2 3 4 5 6 7; do   # one per namespace with Redis at a time, and room to spare
  mkdir -p "$PV_DIR/pv-$i" && chmod 0777 "$PV_DIR/pv-$i"
  sed -e "s#@NAME@#pv-$i#" -e "s#@PATH@#$PV_DIR/pv-$i#" "$CLUSTER_DIR/manifests/pv.yaml.in"; echo ---
done | kubectl apply -f - >/dev/null
recycle_pvs
sed "s#image: kube-selfops/coredns:.*#image: $COREDNS_IMAGE#" "$CLUSTER_DIR/manifests/coredns.yaml" | kubectl apply -f - >/dev/null

# --- node -------------------------------------------------------------------------------------------
stage "cri-dockerd"
# Streaming (exec, logs -f, port-forward) on loopback only; CNI config and state in our own dirs.
# A socket left by an earlier run would look ready before the new process listens.
running cri-dockerd || rm -f "$RUN/cri-dockerd.sock"
start cri-dockerd \
  --container-runtime-endpoint="unix://$RUN/cri-dockerd.sock" \
  --cri-dockerd-root-directory="$DATA/cri-dockerd" \
  --network-plugin=cni --cni-bin-dir=/usr/lib/cni --cni-conf-dir="$DATA/cni/net.d" --cni-cache-dir="$DATA/cni/cache" \
  --pod-infra-container-image="$PAUSE_IMAGE" --streaming-bind-addr=127.0.0.1
wait_for "cri-dockerd socket" 30 test -S "$RUN/cri-dockerd.sock"

stage "kubelet"
cat >"$RUN/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP              # API server -> kubelet over cni0, never eth0
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$PKI/ca.crt" }
authorization: { mode: Webhook }
tlsCertFile: "$PKI/kubelet-serving.crt"
tlsPrivateKeyFile: "$PKI/kubelet-serving.key"
containerRuntimeEndpoint: "unix://$RUN/cri-dockerd.sock"
cgroupDriver: cgroupfs         # no systemd here
failCgroupV1: false            # this machine has cgroup v1 (hybrid)
failSwapOn: false
clusterDNS: [$DNS_SERVICE_IP]
clusterDomain: cluster.local
resolvConf: ""                 # pods get no host resolver: cluster names only
# The Docker engine is shared with everything else on the machine: never garbage-collect images
# (the kubelet would delete any unused one, not only its own) and evict only when really full.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: { memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%, imagefs.inodesFree: 1% }
serializeImagePulls: false
maxPods: 110
oomScoreAdj: 0                 # not -999: root may not lower it here (no CAP_SYS_RESOURCE), see build.sh
EOF
# The Ready condition counts only when renewed after this moment (see node_ready_fresh).
date +%s >"$RUN/kubelet.started"
start kubelet --config="$RUN/kubelet.yaml" --kubeconfig="$PKI/kubelet.kubeconfig" \
  --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$DATA/kubelet"

stage "kube-proxy"
cat >"$RUN/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: { kubeconfig: "$PKI/kube-proxy.kubeconfig" }
hostnameOverride: $NODE_NAME
mode: iptables
clusterCIDR: $CLUSTER_CIDR
nodePortAddresses: ["127.0.0.0/8"]   # NodePorts answer on 127.0.0.1 only
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# 0 = leave the host's conntrack sysctls alone (as kind does).
conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s }
iptables: { localhostNodePorts: true, masqueradeAll: false }
oomScoreAdj: 0                       # not -999: root may not lower it here (no CAP_SYS_RESOURCE)
EOF
start kube-proxy --config="$RUN/kube-proxy.yaml"

stage "waiting for the node"
wait_for "node $NODE_NAME Ready" 120 node_ready_fresh
progress "node $NODE_NAME is Ready"
stage "waiting for CoreDNS"
wait_for "CoreDNS answering" 120 dns_answers
all_running || die "a component stopped during start-up: $(for c in "${COMPONENTS[@]}"; do running "$c" || printf '%s ' "$c"; done)(see $RUN/)"
stage "cluster is up"
echo "export KUBECONFIG=$KUBECONFIG_ADMIN PATH=$BIN:\$PATH"
