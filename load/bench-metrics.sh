#!/usr/bin/env bash
# Benchmark (not a test): what the metrics middleware of step 03 costs on the app's main page.
# Step 02 (no metrics) and step 03 (metrics) serve GET / (a Redis INCR) under the same closed-loop
# load, alternately, ROUNDS times each; the medians of req/s and p99 are printed side by side.
# Usage: load/bench-metrics.sh        Settings: VUS (default 16), SECONDS_PER_RUN (15), ROUNDS (3)
source "$(dirname "${BASH_SOURCE[0]}")/../tooling/lib.sh"
cd "$KIT_ROOT"
vus="${VUS:-16}" seconds="${SECONDS_PER_RUN:-15}" rounds="${ROUNDS:-3}" port="${BENCH_PORT:-8089}"
net=bench out="$KIT_CACHE/bench"
cleanup() { docker rm -f bench-redis bench-app >/dev/null 2>&1 || true; docker network rm $net >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
rm -rf "$out" && mkdir -p "$out"

tooling/install/images.sh node redis
for step in 02-pid1-fixed 03-metrics; do
  progress "building $step"
  docker_build "kube-selfops/$step:bench" "steps/$step"
done
docker network create $net >/dev/null
docker run -d --name bench-redis --network $net --network-alias redis redis:7-bookworm >/dev/null

for round in $(seq 1 "$rounds"); do
  for step in 02-pid1-fixed 03-metrics; do
    docker run -d --name bench-app --network $net -p "127.0.0.1:$port:8080" -e REDIS_URL=redis://redis:6379 \
      "kube-selfops/$step:bench" >/dev/null
    wait_until 30 curl -sf "http://127.0.0.1:$port/check/ready" || die "$step did not get ready within 30 s: docker logs bench-app"
    export TARGET="http://127.0.0.1:$port" ENDPOINT=/ VUS="$vus"
    DURATION=5s SUMMARY="$out/warmup.json" load/k6 run --quiet load/steady.js >/dev/null 2>&1 || true
    progress "round $round/$rounds: $step, $vus VUs for ${seconds} s"
    DURATION="${seconds}s" SUMMARY="$out/$step-$round.json" load/k6 run --quiet load/steady.js >/dev/null 2>&1 || true
    docker rm -f bench-app >/dev/null
  done
done

"$("$KIT_ROOT/tooling/install/node.sh")/node" - "$out" "$rounds" <<'JS'
const [dir, rounds] = process.argv.slice(2);
const fs = require('node:fs');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = (step) => Array.from({ length: Number(rounds) }, (_, i) => JSON.parse(fs.readFileSync(`${dir}/${step}-${i + 1}.json`, 'utf8')).metrics);
const row = (step) => {
  const r = runs(step);
  return { rps: median(r.map((m) => m.http_reqs.values.rate)), p99: median(r.map((m) => m.http_req_duration.values['p(99)'])),
    failed: Math.max(...r.map((m) => m.http_req_failed.values.rate)) };
};
const without = row('02-pid1-fixed'), withMetrics = row('03-metrics');
const pct = (a, b) => `${(((b - a) / a) * 100).toFixed(1)} %`;
console.log('\nGET / (Redis INCR), medians of ' + rounds + ' runs each');
console.log('                         req/s      p99 (ms)   failed');
console.log(`step 02, no metrics   ${without.rps.toFixed(0).padStart(8)}   ${without.p99.toFixed(2).padStart(9)}   ${(without.failed * 100).toFixed(2)} %`);
console.log(`step 03, metrics      ${withMetrics.rps.toFixed(0).padStart(8)}   ${withMetrics.p99.toFixed(2).padStart(9)}   ${(withMetrics.failed * 100).toFixed(2)} %`);
console.log(`change                ${pct(without.rps, withMetrics.rps).padStart(8)}   ${pct(without.p99, withMetrics.p99).padStart(9)}`);
JS
