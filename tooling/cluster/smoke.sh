#!/usr/bin/env bash
# Proves the local cluster (up.sh) end to end with the step 02 app, in a namespace of its own that
# is deleted again at the end:
#   locally built image (imagePullPolicy Never) · Redis StatefulSet on a pre-created volume ·
#   NodePort on 127.0.0.1 · DNS (the app reaches `redis` by name) · a pod calling the API server
#   through the `kubernetes` Service with its token · kubectl logs, exec, port-forward ·
#   pod deletion well within the grace period.
# Usage: tooling/cluster/smoke.sh      (the cluster must be up; takes about a minute)
#        KIT_SMOKE_KEEP=1 tooling/cluster/smoke.sh   keeps the namespace for a look afterwards
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NS=kit-smoke
IMAGE=kube-selfops/smoke:1
APP_DIR="$KIT_ROOT/steps/02-pid1-fixed"
pf_pid=""
t_start=$(date +%s)

running kube-apiserver && api_ok || die "the cluster is not up: run tooling/cluster/up.sh first"

fail() { progress "FAILED: $*"; kubectl -n "$NS" get pods,pvc -o wide >&2 2>/dev/null || true; exit 1; }
ok() { progress "ok: $*"; }
cleanup() {
  local rc=$?
  [ -z "$pf_pid" ] || kill "$pf_pid" 2>/dev/null || true
  if [ "${KIT_SMOKE_KEEP:-0}" = 1 ]; then progress "KIT_SMOKE_KEEP=1: namespace $NS kept"; return; fi
  progress "cleaning up: deleting namespace $NS"
  delete_namespace || progress "namespace $NS still terminating"
  recycle_pvs || true
  [ $rc -eq 0 ] && progress "smoke test passed in $(( $(date +%s) - t_start ))s" || progress "smoke test FAILED (exit $rc)"
}

# The workloads (and their pods), the claims, then the namespace: the namespace controller alone
# re-checks on a back-off of up to a pod's grace period, so this saves ~10 s; the namespace itself
# still takes ~5 s (one delete per resource type).
delete_namespace() {
  kubectl -n "$NS" delete deployment,statefulset --all --cascade=foreground --wait=true --timeout=60s >/dev/null 2>&1 || true
  kubectl -n "$NS" delete pod,pvc --all --wait=true --timeout=60s >/dev/null 2>&1 || true
  kubectl delete namespace "$NS" --wait=true --timeout=60s >/dev/null 2>&1
}
if kubectl get namespace "$NS" >/dev/null 2>&1; then
  progress "removing the namespace left by an earlier run"
  delete_namespace
  recycle_pvs
fi
trap cleanup EXIT

progress "docker build $APP_DIR -> $IMAGE"
DOCKER_BUILDKIT=0 docker build -q -t "$IMAGE" "$APP_DIR" >/dev/null 2>"$RUN/smoke-build.log" \
  || { tail -n 20 "$RUN/smoke-build.log" >&2; fail "docker build (log: $RUN/smoke-build.log)"; }

kubectl create namespace "$NS" >/dev/null
kubectl -n "$NS" apply -f "$KIT_ROOT/k8s/hits/redis.yaml" >/dev/null
# Redis first: an app that starts before it waits in its client's reconnect back-off (up to ~15 s).
kubectl -n "$NS" rollout status statefulset/redis --timeout=90s >/dev/null || fail "redis did not become ready"
[ "$(kubectl -n "$NS" get pvc data-redis-0 -o jsonpath='{.status.phase}')" = Bound ] || fail "redis' volume claim is not Bound"
ok "redis ready, its claim bound to $(kubectl -n "$NS" get pvc data-redis-0 -o jsonpath='{.spec.volumeName}')"
# The step's own manifest, with the locally built image that must never be pulled.
sed -e "s#image: hits:.*#image: $IMAGE#" -e 's#imagePullPolicy: IfNotPresent#imagePullPolicy: Never#' \
  "$APP_DIR/deploy/app.yaml" | kubectl -n "$NS" apply -f - >/dev/null
kubectl -n "$NS" apply -f "$CLUSTER_DIR/manifests/smoke-nodeport.yaml" >/dev/null

kubectl -n "$NS" rollout status deployment/hits --timeout=90s >/dev/null || fail "hits did not become ready"
ok "hits ready (image $IMAGE, imagePullPolicy Never)"

port="$(kubectl -n "$NS" get service hits-nodeport -o jsonpath='{.spec.ports[0].nodePort}')"
# kube-proxy writes the rules about a second after the Service appears, and the app's Redis client
# retries with a back-off: give both a little time.
status=""
for _ in $(seq 1 60); do
  status="$(curl -fsS --max-time 2 "http://127.0.0.1:$port/status" 2>/dev/null || true)"
  case "$status" in *'"redis":"connected"'*) break ;; esac
  sleep 0.5
done
case "$status" in *'"redis":"connected"'*) ;; *) fail "GET http://127.0.0.1:$port/status: '$status' (want redis connected)" ;; esac
code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/" || true)"
[ "$code" = 200 ] || fail "GET http://127.0.0.1:$port/ answered $code (503 = no Redis)"
ok "NodePort 127.0.0.1:$port answers 200; the app reached redis:6379 by name: $status"

addr="$(kubectl -n "$NS" exec deploy/hits -- node -e \
  "require('dns').promises.lookup('redis').then(a => console.log(a.address))")" || fail "DNS lookup of 'redis' in the pod"
ok "DNS in the pod: redis -> $addr"

# The pod's own credentials, through the `kubernetes` Service (10.96.0.1 -> the API server on cni0).
api_js='
const fs = require("fs"), https = require("https"), d = "/var/run/secrets/kubernetes.io/serviceaccount/";
const opts = { host: "kubernetes.default.svc", ca: fs.readFileSync(d + "ca.crt"),
  headers: { authorization: "Bearer " + fs.readFileSync(d + "token", "utf8").trim(), "content-type": "application/json" } };
const call = (method, path, body) => new Promise((ok, no) => {
  const req = https.request({ ...opts, method, path, timeout: 5000 }, (res) => {
    let b = ""; res.on("data", (c) => (b += c)); res.on("end", () => ok([res.statusCode, JSON.parse(b)]));
  });
  req.on("error", no); req.on("timeout", () => req.destroy(new Error("timeout"))); req.end(body);
});
(async () => {
  const [s1, v] = await call("GET", "/version");
  const [s2, r] = await call("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
    JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" }));
  console.log(s1, v.gitVersion, s2, r.status.userInfo.username);
})().catch((e) => { console.error(e.message); process.exit(1); });'
out="$(kubectl -n "$NS" exec deploy/hits -- node -e "$api_js")" || fail "the pod could not reach the API server: $out"
case "$out" in "200 v1.34."*" 201 system:serviceaccount:$NS:default") ;; *) fail "unexpected API answer: $out" ;; esac
ok "pod -> https://kubernetes.default.svc: $out"

logs="$(kubectl -n "$NS" logs deploy/hits)" || fail "kubectl logs"
case "$logs" in *'starting hits'*) ;; *) fail "kubectl logs shows no 'starting hits'" ;; esac
ok "kubectl logs: $(echo "$logs" | wc -l) lines"

pf_log="$RUN/smoke-port-forward.log"
# The binary itself, not the kubectl() wrapper: $! must be kubectl's pid, to stop it afterwards.
"$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" -n "$NS" port-forward --address 127.0.0.1 service/hits :80 >"$pf_log" 2>&1 &
pf_pid=$!
for _ in $(seq 1 40); do grep -q 'Forwarding from' "$pf_log" && break; sleep 0.25; done
pf_port="$(sed -nE 's/^Forwarding from 127\.0\.0\.1:([0-9]+) .*/\1/p' "$pf_log" | head -n1)"
[ -n "$pf_port" ] || fail "kubectl port-forward did not start: $(cat "$pf_log")"
curl -fsS --max-time 5 "http://127.0.0.1:$pf_port/check/ready" >/dev/null || fail "GET /check/ready through port-forward"
ok "kubectl port-forward 127.0.0.1:$pf_port -> service/hits:80"
kill "$pf_pid" 2>/dev/null; pf_pid=""

pod="$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=hits -o jsonpath='{.items[0].metadata.name}')"
grace="$(kubectl -n "$NS" get pod "$pod" -o jsonpath='{.spec.terminationGracePeriodSeconds}')"
t0=$(date +%s.%N)
kubectl -n "$NS" delete pod "$pod" --wait=true --timeout=60s >/dev/null || fail "deleting pod $pod"
took="$(echo "$(date +%s.%N) - $t0" | bc)"
awk -v t="$took" -v g="$grace" 'BEGIN { exit !(t < g - 5) }' || fail "deleting $pod took ${took}s (grace period ${grace}s)"
ok "pod $pod deleted in $(printf '%.1f' "$took")s (grace period ${grace}s; preStop sleeps 3 s)"
