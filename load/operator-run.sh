#!/usr/bin/env bash
# The talk's beat 9 on the kit's cluster, start to finish, then the graph: step 04 as shipped
# (./kit up 04 --cluster: the LatencyScaler of deploy/latencyscaler.yaml, the operator with 2
# replicas), a STEP in load (VUS closed loops at once on /slow, for LOAD seconds), then quiet
# until the operator is back at minReplicas. Prints a replicas/p95 timeline, the time to recover
# (Prometheus's p95 back under 100 ms) and the time back to minReplicas, and renders ./kit graph.
# Usage: load/operator-run.sh [OUT]   (default OUT: steps/04-operator/img/scale-up-down -> .svg, .png)
# Settings: VUS (default 6), LOAD (seconds, default 150), QUIET (max seconds after, default 240).
# On a machine shared with tests: flock /tmp/kube-selfops-locks/kit-test.lock load/operator-run.sh
source "$(dirname "${BASH_SOURCE[0]}")/../tooling/lib.sh"
cd "$KIT_ROOT"
out="${1:-steps/04-operator/img/scale-up-down}"
vus="${VUS:-6}" load="${LOAD:-150}" quiet="${QUIET:-240}"
app=http://127.0.0.1:30080 prom=http://127.0.0.1:30090

eval "$(./kit cluster env)"
kubectl delete namespace hits monitoring --ignore-not-found --wait=true   # a clean start: no old status
./kit up 04 --cluster
replicas() { kubectl -n hits get deploy/hits -o jsonpath='{.spec.replicas}'; }
p95() { { prom_query "$prom" '1000 * app:request_latency_seconds:p95_30s{app="hits"}' || echo '{}'; } | jq -r '.data.result[0].value[1] // "-"' | cut -c1-5; }
decision() { kubectl -n hits get latencyscaler hits -o jsonpath='{.status.lastDecision.reason}'; }
at_min() { [ "$(decision)" = AtMinReplicas ]; }
wait_until 180 at_min || die "the operator did not report AtMinReplicas within 180 s: kubectl -n hits logs deploy/latency-operator"

timeline="$KIT_CACHE/operator-run.txt"
started=$(date +%s)
progress "a step in load: $vus VUs on $app/slow for $load s (k6, a new connection per request)"
K6_NO_VU_CONNECTION_REUSE=true TARGET="$app" VUS="$vus" DURATION="${load}s" SUMMARY="$KIT_CACHE/operator-run.json" \
  load/k6 run --quiet load/steady.js > "$KIT_CACHE/operator-run-k6.txt" 2>&1 &
k6=$!
echo "t(s) replicas p95(ms) decision" > "$timeline"
load_end="" recovered="" back=""
while :; do
  t=$(( $(date +%s) - started )) r=$(replicas) p=$(p95) d=$(decision)
  echo "$t $r $p $d" | tee -a "$timeline"
  if [ -z "$load_end" ] && ! kill -0 $k6 2>/dev/null; then load_end=$t; fi
  # Recovered: p95 under 100 ms again after it was over (the first 30 s window is the step itself).
  if [ -z "$recovered" ] && [ "$p" != - ] && awk "BEGIN{exit !($p < 100)}" && grep -qE ' (1[0-9]{2}|[2-9][0-9]{2})(\.[0-9]*)? ' "$timeline"; then recovered=$t; fi
  if [ -n "$load_end" ] && [ "$r" = 1 ]; then back=$t; break; fi
  if [ -n "$load_end" ] && [ $((t - load_end)) -gt "$quiet" ]; then break; fi
  sleep 2
done
wait $k6 || true
cat "$KIT_CACHE/operator-run-k6.txt"
kubectl -n hits get events --field-selector involvedObject.kind=LatencyScaler --sort-by=.firstTimestamp
echo "p95 back under 100 ms: ${recovered:-never} s after the step; load stopped at ${load_end} s; back to 1 replica at ${back:-never} s ($(( ${back:-0} - load_end )) s after the load)"
sleep 20   # a little quiet on the graph
minutes=$(( ($(date +%s) - started) / 60 + 1 ))
./kit graph --prometheus "$prom" --minutes "$minutes" --out "$out" \
  --title "The operator, as shipped: a step to $vus VUs on /slow for $load s, then quiet"
