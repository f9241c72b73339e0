// The load of `./kit bench autoscalers` (tooling/bench/autoscalers.ts): the same four phases in
// two variants, so that a slow autoscaler cannot hide behind a load that waits for it.
//   PROFILE=closed  k6 VUs, each a closed loop (a new request when the last one is answered): the
//                   load throttles itself when the app is slow, as a browser-bound user would.
//   PROFILE=open    ramping-arrival-rate: requests arrive at the planned rate whatever the app
//                   does, as independent users would; a slow reaction shows as a queue.
// Phases (~3.5 min): ramp to PEAK over 40 s, hold 60 s, drop to almost nothing for 50 s, then a
// sudden step back to PEAK, held 50 s. PEAK is about 4x one replica's capacity (/slow: 2 slots ×
// 40 ms = 50 req/s): 20 VUs closed (p95 ≈ 20 ms × VUs / replicas), 200 req/s open.
// Usage: PROFILE=open TARGET=http://127.0.0.1:30080 load/k6 run load/bench.js
import { Rate } from 'k6/metrics';
import { intEnv, options as makeOptions, hitSlow, summary } from './lib.js';

const PROFILE = __ENV.PROFILE || 'closed';
if (!['closed', 'open'].includes(PROFILE))
  throw new Error(`PROFILE must be closed or open, got "${PROFILE}"`);
const PEAK = intEnv('PEAK', PROFILE === 'closed' ? 20 : 200); // VUs, or requests per second
const LOW = intEnv('LOW', PROFILE === 'closed' ? 1 : 5);
// A request still unanswered after this long counts as failed (and frees its VU in the open loop).
const TIMEOUT = __ENV.REQUEST_TIMEOUT || '10s';

// SPEEDUP=N divides every phase by N (load/selftest.sh runs the shape in seconds).
const SPEEDUP = intEnv('SPEEDUP', 1);
const s = (seconds) => `${Math.max(1, Math.round(seconds / SPEEDUP))}s`;
// #region phases
const stages = [
  { duration: s(40), target: PEAK }, // ramp
  { duration: s(60), target: PEAK }, // hold
  { duration: s(5), target: LOW }, //   drop...
  { duration: s(45), target: LOW }, //  ...to almost nothing
  { duration: s(1), target: PEAK }, //  a sudden step back up
  { duration: s(50), target: PEAK }, // hold
];
// #endregion phases

const scenario =
  PROFILE === 'closed'
    ? { executor: 'ramping-vus', startVUs: 1, stages, gracefulRampDown: '0s' }
    : // Enough VUs for PEAK requests each waiting up to TIMEOUT would be thousands: 600 keeps k6
      // itself small; iterations k6 could not start are reported (dropped_iterations).
      {
        executor: 'ramping-arrival-rate',
        startRate: LOW,
        timeUnit: '1s',
        preAllocatedVUs: 50,
        maxVUs: 600,
        stages,
      };

export const options = makeOptions(scenario);

// The share the benchmark reports: answered (200) within 100 ms, over every request of the run.
const under100 = new Rate('under_100ms');
export default function () {
  const res = hitSlow({ timeout: TIMEOUT });
  under100.add(res.status === 200 && res.timings.duration <= 100);
}
export const handleSummary = summary(
  'bench',
  `${PROFILE} loop, peak ${PEAK}${PROFILE === 'closed' ? ' VUs' : ' req/s'}`,
  `results/bench-${PROFILE}-summary.json`,
);
