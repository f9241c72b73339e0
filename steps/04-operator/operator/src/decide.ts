/**
 * The operator's decision, as a pure function: no clock, no network, no Kubernetes. Given the
 * LatencyScaler's spec, the replicas the Deployment has now, what Prometheus said, the recent
 * recommendations and the time of the last scale, it says how many replicas there should be, and
 * why. Everything that talks to the outside world lives in controller.ts; this file is the part
 * the talk shows on a slide and the tests check row by row and property by property
 * (test/decide.test.ts).
 */

/** The settings of one LatencyScaler (spec), with the schema's defaults already applied. */
export interface ScalerSpec {
  thresholdMs: number;
  minReplicas: number;
  maxReplicas: number;
  /** After any scale, no other for this long: the 30 s p95 window must show the new replicas first. */
  cooldownSeconds: number;
  /** Scale down only when every recommendation of this long allowed it (the HPA's "max over the window"). */
  scaleDownWindowSeconds: number;
}

/**
 * What Prometheus said about the target. Four different answers, never folded into one number:
 * no traffic is a fact (the recorded request rate is 0) and allows going down to minReplicas;
 * no series (never scraped, or labels that match nothing) and no answer at all both hold.
 */
export type Metric =
  | { kind: 'value'; ms: number; rps: number } // p95 over the last 30 s, and the request rate
  | { kind: 'no-traffic' } // the request rate is a recorded 0
  | { kind: 'no-series'; detail: string } // Prometheus answered, but records nothing for this target
  | { kind: 'unavailable'; error: string }; // Prometheus did not answer, or answered nonsense

/** What one decision asked for, kept in status so a restarted operator still has its window. */
export interface Recommendation {
  time: string; // RFC 3339, whole seconds
  replicas: number;
}

export type Reason =
  | 'ScaledUp' // p95 over the threshold: up in proportion, at most x2
  | 'ScaledDown' // a whole window of recommendations allowed one replica less
  | 'BelowMinReplicas' // fewer replicas than minReplicas: brought up to it
  | 'AboveMaxReplicas' // more replicas than maxReplicas: brought down to it
  | 'AtMaxReplicas' // would scale up, but max is reached
  | 'AtMinReplicas' // nothing to give back: min is reached
  | 'InCooldown' // would scale, but the last scale was less than cooldownSeconds ago
  | 'ScaleDownStabilized' // fewer would do now, but not for the whole window yet
  | 'WithinTarget' // p95 under the threshold, and one replica less would not leave headroom
  | 'NoSeries' // Prometheus records nothing for this target: hold
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
  /** The recommendations of the scale-down window, this one included: the next call's input. */
  recommendations: Recommendation[];
}

/** At most this many times the current replicas in one step: a wild p95 cannot ask for 30 pods. */
export const MAX_STEP_FACTOR = 2;
/**
 * One replica less only if the p95 it predicts stays under this share of the threshold. p95 grows
 * as 1/replicas under a fixed load (README: the capacity model), so R replicas at p95 p give
 * R-1 at p x R/(R-1); the 20 % left is the band in which noise changes nothing (no flapping).
 */
export const DOWN_HEADROOM = 0.8;

/** The reasons where min or max decided the outcome (status condition ScalingLimited). */
const LIMITS: ReadonlySet<Reason> = new Set(['BelowMinReplicas', 'AboveMaxReplicas', 'AtMaxReplicas', 'AtMinReplicas']);

// #region decide
export function decide(spec: ScalerSpec, current: number, metric: Metric,
  history: Recommendation[], lastScale: Date | undefined, now: Date): Decision {
  const { thresholdMs: t, minReplicas: min, maxReplicas: max, scaleDownWindowSeconds: w } = spec;
  const inCooldown = lastScale !== undefined && +now - +lastScale < spec.cooldownSeconds * 1000;
  const to = (desired: number, reason: Reason, message: string, recommendations = history): Decision =>
    ({ desired, reason, message, inCooldown, recommendations, limited: LIMITS.has(reason) || desired === max && desired > current });

  if (current === 0) return to(0, 'ScalingDisabled', 'scaled to 0 by someone: scaling is off');
  if (current < min) return to(min, 'BelowMinReplicas', `${current} replicas < minReplicas ${min}`);
  if (current > max) return to(max, 'AboveMaxReplicas', `${current} replicas > maxReplicas ${max}`);
  // No number is not 0 ms: hold (never scale down during a Prometheus outage).
  if (metric.kind === 'unavailable') return to(current, 'MetricUnavailable', `Prometheus unavailable (${metric.error}): holding`);
  if (metric.kind === 'no-series') return to(current, 'NoSeries', `${metric.detail}: holding`);

  // p95 falls as 1/replicas under a fixed load: R x p95/t replicas bring it back to t.
  // Up: at least +1, at most x2, never past max. No traffic: min.
  const p95 = metric.kind === 'value' ? `p95 ${Math.round(metric.ms)} ms` : 'no traffic';
  const wanted = metric.kind === 'no-traffic' ? min
    : metric.ms > t ? Math.min(max, MAX_STEP_FACTOR * current, Math.max(current + 1, Math.ceil(current * metric.ms / t)))
    : Math.max(min, Math.min(current, Math.ceil(current * metric.ms / (t * DOWN_HEADROOM))));
  const window = recentWindow([...history, { time: rfc3339(now), replicas: wanted }], now, w);
  const hold = (reason: Reason, message: string) => to(current, reason, message, window);

  if (metric.kind === 'value' && metric.ms > t) {
    if (current >= max) return hold('AtMaxReplicas', `${p95} > ${t} ms, at maxReplicas ${max}`);
    if (inCooldown) return hold('InCooldown', `${p95} > ${t} ms: ${wanted} replicas after the cooldown`);
    return to(wanted, 'ScaledUp', `${p95} > ${t} ms: ${current} -> ${wanted} replicas`, window);
  }
  if (current === min) return hold('AtMinReplicas', `${p95}, at minReplicas ${min}`);
  if (wanted === current) return hold('WithinTarget', `${p95}: ${current - 1} replicas would be too close to ${t} ms`);
  // Down: one replica, only if every recommendation of a whole window allowed it.
  const covered = Date.parse(window[0]!.time) <= +now - w * 1000;
  const highest = Math.max(...window.map((r) => r.replicas));
  if (!covered || highest >= current) return hold('ScaleDownStabilized', `${p95}: the last ${w} s asked for ${covered ? highest : 'more'}`);
  if (inCooldown) return hold('InCooldown', `${p95}: ${current - 1} replicas after the cooldown`);
  return to(current - 1, 'ScaledDown', `${p95}, ${w} s at most ${highest}: ${current} -> ${current - 1} replicas`, window);
}
// #endregion decide

/** At most this many recommendations are kept (status.recommendations, maxItems in the CRD). */
export const MAX_RECOMMENDATIONS = 100;

/**
 * The recommendations that matter for a window of SECONDS ending at NOW: those inside it, plus
 * the newest one before it (it was in force when the window began), oldest first. A repeat of the
 * previous value is dropped (the earlier one stands for it: the same max, and a window covered as
 * early), and only the newest MAX_RECOMMENDATIONS are kept: losing the oldest only makes the
 * window "not observed yet", which holds (never a scale-down on a memory that was cut).
 */
export function recentWindow(history: Recommendation[], now: Date, seconds: number): Recommendation[] {
  const start = now.getTime() - seconds * 1000;
  const sorted = [...history].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  let first = 0;
  for (let i = 0; i < sorted.length; i++) if (Date.parse(sorted[i]!.time) <= start) first = i;
  const runs = sorted.slice(first).filter((r, i, all) => i === 0 || r.replicas !== all[i - 1]!.replicas);
  return runs.slice(-MAX_RECOMMENDATIONS);
}

/** A time as Kubernetes writes it: RFC 3339, whole seconds, UTC. */
export function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/, 'Z');
}
