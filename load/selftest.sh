#!/usr/bin/env bash
# Checks the load scripts end to end against load/stub-server.mjs (not the app), in ~25 s:
# a fast stub (20 ms) must pass both scripts' thresholds (exit 0) and a slow one (200 ms) must
# fail them (exit 99); each run must write its JSON summary. Only 127.0.0.1, 3 s per run.
# Usage: load/selftest.sh
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../tooling/lib.sh"
node="$("$here/../tooling/install/node.sh")/node"
"$here/../tooling/install/k6.sh" >/dev/null
tmp="$(mktemp -d)"; pids=()
# shellcheck disable=SC2154  # p is the loop's own variable, inside the trap's string
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT

# Two stubs on free ports; each prints its URL as its first line.
for ms in 20 200; do
  DELAY_MS=$ms PORT=0 "$node" "$here/stub-server.mjs" >"$tmp/stub-$ms.log" 2>&1 & pids+=($!)
done
wait_until 10 test -s "$tmp/stub-20.log" -a -s "$tmp/stub-200.log" || die "the stub servers did not start: $(cat "$tmp"/stub-*.log)"
fast="$(head -n1 "$tmp/stub-20.log")"; slow="$(head -n1 "$tmp/stub-200.log")"
fail=0
for script in steady ramp; do
  for case in "fast $fast 0" "slow $slow 99"; do
    read -r -a fields <<<"$case"; set -- "${fields[@]}"; rc=0
    TARGET="$2" DURATION=3s SUMMARY="$tmp/$script-$1.json" "$here/k6" run -q "$here/$script.js" >"$tmp/out" 2>&1 || rc=$?
    if [ "$rc" = "$3" ] && grep -q '"thresholds_ok"' "$tmp/$script-$1.json" 2>/dev/null; then
      echo "ok   $script.js, $1 stub: exit $rc, summary written"
    else
      echo "FAIL $script.js, $1 stub: exit $rc (want $3)"; cat "$tmp/out"; fail=1
    fi
  done
done
exit $fail
