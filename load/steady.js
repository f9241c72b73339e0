// Constant load: VUS virtual users (default 8), each a closed loop on GET $TARGET/slow, for
// DURATION (default 30s). Usage: load/k6 run load/steady.js   (see load/README.md)
import { intEnv, options as makeOptions, hitSlow, summary } from './lib.js';

const VUS = intEnv('VUS', 8);
const DURATION = __ENV.DURATION || '30s';

export const options = makeOptions({ executor: 'constant-vus', vus: VUS, duration: DURATION });
export default hitSlow;
export const handleSummary = summary(
  'steady',
  `${VUS} VUs for ${DURATION}`,
  'results/steady-summary.json',
);
