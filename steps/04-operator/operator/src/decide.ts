/**
 * The operator's decision, as a pure function: no clock, no network, no Kubernetes. Given the
 * LatencyScaler's spec, the replicas the Deployment has now, one latency sample from Prometheus
 * and the time of the last scale, it says how many replicas there should be, and why.
 * Everything that talks to the outside world lives in controller.ts; this file is the part the
 * talk shows on a slide and the tests check row by row (test/decide.test.ts).
 */

/** The settings of one LatencyScaler (spec), with the schema's defaults already applied. */
export interface ScalerSpec {
  thresholdMs: number;
  minReplicas: number;
  maxReplicas: number;
  cooldownSeconds: number;
}

/**
 * What Prometheus said. Three different answers, never folded into one number: a missing sample
 * is not "0 ms" (that would read as "very fast" and scale down), and a failed query is not
 * "no traffic".
 */
export type LatencySample =
  | { kind: 'value'; ms: number }
  | { kind: 'no-data' } // Prometheus answered: no sample, i.e. no traffic in the last 30 s
  | { kind: 'unavailable'; error: string }; // Prometheus did not answer, or answered nonsense

export type Reason =
  | 'ScaledUp' // p95 over the threshold: one more replica
  | 'ScaledDown' // p95 well under the threshold: one replica less
  | 'BelowMinReplicas' // fewer replicas than minReplicas: brought up to it
  | 'AboveMaxReplicas' // more replicas than maxReplicas: brought down to it
  | 'AtMaxReplicas' // would scale up, but max is reached
  | 'AtMinReplicas' // would scale down, but min is reached
  | 'InCooldown' // would scale, but the last scale was less than cooldownSeconds ago
  | 'WithinTarget' // p95 between threshold/2 and the threshold: nothing to do
  | 'NoData' // no traffic: nothing to measure, hold
  | 'MetricUnavailable' // Prometheus unreachable: hold
  | 'ScalingDisabled'; // the Deployment was scaled to 0 by someone: leave it alone

export interface Decision {
  desired: number;
  reason: Reason;
  /** One sentence for people: the status condition's message, the Event's note, the log line. */
  message: string;
  /** True when min or max decided the outcome (status condition ScalingLimited). */
  limited: boolean;
  /** True while the last scale is less than cooldownSeconds ago (status condition InCooldown). */
  inCooldown: boolean;
}

/**
 * Scale down only when p95 is under half the threshold. Removing one of N replicas gives each
 * of the others up to N/(N-1) times its load, at most twice as much (2 -> 1); a latency well
 * under half the threshold leaves room for that, so the next decision does not scale straight
 * back up (no flapping). Between threshold/2 and the threshold the operator does nothing.
 */
export const SCALE_DOWN_FRACTION = 0.5;

// #region decide
export function decide(
  spec: ScalerSpec,
  current: number,
  latency: LatencySample,
  lastScaleTime: Date | undefined,
  now: Date,
): Decision {
  const { thresholdMs, minReplicas: min, maxReplicas: max } = spec;
  const sinceScaleMs = lastScaleTime ? now.getTime() - lastScaleTime.getTime() : Infinity;
  const inCooldown = sinceScaleMs < spec.cooldownSeconds * 1000;
  const hold = (reason: Reason, message: string, limited = false): Decision =>
    ({ desired: current, reason, message, limited, inCooldown });

  // Someone scaled the Deployment to zero on purpose: do not bring it back (as the HPA does).
  if (current === 0) return hold('ScalingDisabled', 'the Deployment has 0 replicas: scaling is off until someone scales it up');
  // min and max hold whatever the metric says, and whatever the cooldown: they are the spec.
  if (current < min) return { desired: min, reason: 'BelowMinReplicas', message: `${current} replicas is under minReplicas ${min}`, limited: true, inCooldown };
  if (current > max) return { desired: max, reason: 'AboveMaxReplicas', message: `${current} replicas is over maxReplicas ${max}`, limited: true, inCooldown };

  // Without a sample, hold: never scale down (or up) on missing data.
  if (latency.kind === 'unavailable') return hold('MetricUnavailable', `Prometheus is unavailable (${latency.error}): holding ${current} replicas`);
  if (latency.kind === 'no-data') return hold('NoData', `no latency sample (no traffic in the last 30 s): holding ${current} replicas`);

  const p95 = `p95 ${Math.round(latency.ms)} ms`;
  const cooldownLeft = Math.ceil((spec.cooldownSeconds * 1000 - sinceScaleMs) / 1000);
  if (latency.ms > thresholdMs) {
    if (current >= max) return hold('AtMaxReplicas', `${p95} > ${thresholdMs} ms, but maxReplicas ${max} is reached`, true);
    if (inCooldown) return hold('InCooldown', `${p95} > ${thresholdMs} ms; scaling up again in ${cooldownLeft} s (cooldown)`);
    return { desired: current + 1, reason: 'ScaledUp', message: `${p95} > ${thresholdMs} ms: ${current} -> ${current + 1} replicas`, limited: false, inCooldown };
  }
  if (latency.ms < thresholdMs * SCALE_DOWN_FRACTION) {
    if (current <= min) return hold('AtMinReplicas', `${p95} < ${thresholdMs * SCALE_DOWN_FRACTION} ms, and minReplicas ${min} is reached`, true);
    if (inCooldown) return hold('InCooldown', `${p95} < ${thresholdMs * SCALE_DOWN_FRACTION} ms; scaling down in ${cooldownLeft} s (cooldown)`);
    return { desired: current - 1, reason: 'ScaledDown', message: `${p95} < ${thresholdMs * SCALE_DOWN_FRACTION} ms: ${current} -> ${current - 1} replicas`, limited: false, inCooldown };
  }
  return hold('WithinTarget', `${p95} is within ${thresholdMs * SCALE_DOWN_FRACTION}-${thresholdMs} ms: holding ${current} replicas`);
}
// #endregion decide
