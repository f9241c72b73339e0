// The talk's `while true; do curl /slow; done`, one loop at a time: ramps from 1 to MAX_VUS
// (default 12) closed-loop virtual users over DURATION (default 60s), so the queueing delay of
// one replica shows up as the load grows; then, if HOLD is set (e.g. 100s), stays at MAX_VUS that
// long (an autoscaler's test). Usage: load/k6 run load/ramp.js   (see load/README.md)
import { intEnv, options as makeOptions, hitSlow, summary } from './lib.js';

const MAX_VUS = intEnv('MAX_VUS', 12);
const DURATION = __ENV.DURATION || '60s';
const HOLD = __ENV.HOLD || '';

export const options = makeOptions({
  executor: 'ramping-vus',
  startVUs: 1,
  stages: [
    { duration: DURATION, target: MAX_VUS },
    ...(HOLD ? [{ duration: HOLD, target: MAX_VUS }] : []),
  ],
  gracefulRampDown: '0s',
});
export default hitSlow;
export const handleSummary = summary(
  'ramp',
  `1 to ${MAX_VUS} VUs over ${DURATION}${HOLD ? `, then ${HOLD} at ${MAX_VUS}` : ''}`,
  'results/ramp-summary.json',
);
