#!/usr/bin/env bash
# The talk's beats 7-8 in Docker, start to finish, then the graph:
#   one replica under steady load (latency climbs past 100 ms), then "scale by hand" to three
#   replicas behind nginx (latency falls back under), then no load; ./kit graph renders it.
# Usage: load/scale-by-hand.sh [OUT]   (default OUT: steps/03-metrics/img/latency -> .svg and .png)
# Settings: VUS (default 8), PHASE (seconds per phase, default 60), PROM_PORT (9090), LB_PORT (8088).
source "$(dirname "${BASH_SOURCE[0]}")/../tooling/lib.sh"
cd "$KIT_ROOT"
out="${1:-steps/03-metrics/img/latency}"
vus="${VUS:-8}" phase="${PHASE:-60}" prom_port="${PROM_PORT:-9090}" lb_port="${LB_PORT:-8088}"
image=kube-selfops/03-metrics:dev net=demo

cleanup() { docker rm -f demo-redis demo-app-1 demo-app-2 demo-app-3 demo-prometheus demo-lb >/dev/null 2>&1 || true; docker network rm $net >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup

tooling/images.sh node redis prometheus nginx
progress "building $image"
docker_build $image steps/03-metrics
docker network create $net >/dev/null
docker run -d --name demo-redis --network $net --network-alias redis redis:7-bookworm >/dev/null
app() { docker run -d --name "demo-app-$1" --network $net --network-alias app -e REDIS_URL=redis://redis:6379 $image >/dev/null; }
app 1
docker run -d --name demo-prometheus --network $net -p "127.0.0.1:$prom_port:9090" \
  -v "$KIT_ROOT/k8s/prometheus/docker.yml:/etc/prometheus/prometheus.yml:ro" \
  -v "$KIT_ROOT/k8s/prometheus/rules.yml:/etc/prometheus/rules.yml:ro" "$(cat tooling/images/prometheus/IMAGE)" >/dev/null
docker run -d --name demo-lb --network $net -p "127.0.0.1:$lb_port:80" \
  -v "$KIT_ROOT/k8s/docker/lb.conf:/etc/nginx/conf.d/default.conf:ro" "$(cat tooling/images/nginx/IMAGE)" >/dev/null
until curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null && curl -sf "http://127.0.0.1:$lb_port/check/ready" >/dev/null; do sleep 0.5; done
started=$(date +%s)

progress "idle for 20 s, then $vus VUs on one replica for ${phase} s"
sleep 20
TARGET="http://127.0.0.1:$lb_port" VUS="$vus" DURATION="${phase}s" SUMMARY="$KIT_CACHE/demo-1.json" load/k6 run --quiet load/steady.js || true
progress "scaling by hand: two more replicas, nginx reloads; the same load for ${phase} s"
app 2; app 3
until curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=count(up%7Bapp%3D%22hits%22%7D%3D%3D1)" | grep -q '"value":\[[^]]*"3"\]'; do sleep 1; done
docker exec demo-lb nginx -s reload >/dev/null 2>&1
TARGET="http://127.0.0.1:$lb_port" VUS="$vus" DURATION="${phase}s" SUMMARY="$KIT_CACHE/demo-3.json" load/k6 run --quiet load/steady.js || true
progress "load stopped; 40 s of quiet"
sleep 40
minutes=$(( ($(date +%s) - started) / 60 + 1 ))
./kit graph --prometheus "http://127.0.0.1:$prom_port" --minutes "$minutes" --out "$out" \
  --title "One replica, then three, under the same load ($vus VUs on /slow)"
