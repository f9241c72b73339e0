/**
 * The operator's decision, as a pure function: no clock, no network, no Kubernetes. Given the
 * LatencyScaler's spec, the replicas the Deployment has now, what Prometheus said, the recent
 * recommendations and the time of the last scale, it says how many replicas there should be, and
 * why. Everything that talks to the outside world lives in controller.ts. The talk shows decide()
 * on one slide (its rules, in order) and the two numbers it weighs on the next (wantedReplicas,
 * maxOverWindow); below them, weigh() and explain() only assemble the Decision and its sentence.
 * The tests check it row by row and property by property (test/decide.test.ts).
 */
import { capacityFrom, replicasFor } from './capacity.js';

/** The settings of one LatencyScaler (spec), with the schema's defaults already applied. */
export interface ScalerSpec {
  thresholdMs: number;
  minReplicas: number;
  maxReplicas: number;
  /**
   * After any scale, nothing down and nothing learned for this long: the 10 s window must show
   * the new replicas first (up, only as far as one step from the replicas before it).
   */
  cooldownSeconds: number;
  /**
   * Scale down only when every recommendation of this long allowed it (the HPA's "max over the
   * window").
   */
  scaleDownWindowSeconds: number;
}

/**
 * What Prometheus said about the target. Four different answers, never folded into one number:
 * no traffic is a fact (the recorded request rate is 0) and allows going down to minReplicas;
 * no series (never scraped, or labels that match nothing) and no answer at all both hold.
 */
export type Metric =
  // Over the last WINDOW_S: the p95 (whole ms, as shown: prometheus.ts), the request rate, and the
  // requests in flight, all replicas together (the demand: capacity.ts)
  // (and over the last 4 s: inFlightNow, when Prometheus has it)
  | { kind: 'value'; ms: number; rps: number; inFlight: number; inFlightNow?: number }
  | { kind: 'no-traffic' } // the request rate is a recorded 0
  | { kind: 'no-series'; detail: string } // Prometheus answered, but has nothing for this target
  | { kind: 'unavailable'; error: string }; // Prometheus did not answer, or answered nonsense

/**
 * The last scale: when its cooldown counts from, and the replicas it counted from (before it, or
 * for a catch-up, before the step it caught up with). Until the 10 s window has seen the new
 * replicas, the p95 is still mostly that of FROM replicas.
 */
export interface LastScale {
  time: Date;
  from: number;
}

/** What one decision asked for, kept in status so a restarted operator still has its window. */
export interface Recommendation {
  time: string; // RFC 3339, whole seconds
  replicas: number;
}

export type Reason =
  | 'ScaledUp' // the demand needs more: up in one step, at most x2 or +4 (in the cooldown too)
  | 'ScaledDown' // a whole window of recommendations allowed one replica less
  | 'BelowMinReplicas' // fewer replicas than minReplicas: brought up to it
  | 'AboveMaxReplicas' // more replicas than maxReplicas: brought down to it
  | 'AtMaxReplicas' // would scale up, but max is reached
  | 'AtMinReplicas' // nothing to give back: min is reached
  | 'InCooldown' // would scale, but the last scale was under cooldownSeconds ago (and caught up)
  | 'ScaleDownStabilized' // fewer would do now, but not for the whole window yet
  | 'WithinTarget' // p95 under the threshold, and one replica less would not leave headroom
  | 'NoSeries' // Prometheus records nothing for this target: hold
  | 'MetricUnavailable' // Prometheus unreachable: hold
  | 'ScalingDisabled' // the Deployment was scaled to 0 by someone: leave it alone
  | 'Paused'; // spec.paused: hold whatever the metric says

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
  /**
   * For a scale, what it counts from (the next LastScale.from): the replicas now, or for a
   * catch-up the ones the window still shows. Never the replicas of a step the window has not
   * seen: a p95 of 1 replica read as the p95 of 5 would ask for 5 times too many.
   */
  scaledFrom: number;
}

/**
 * One step up adds at most x2 or +4 replicas, whichever is more: the HPA's default scale-up policy
 * (+100 % or +4 pods). +4 lets one replica facing 4x its capacity catch up in one step, not three
 * cooldowns (measured: load/benchmarks); a wild p95 still cannot ask for 30 pods.
 */
export const MAX_STEP_FACTOR = 2;
export const MAX_STEP_PODS = 4;
/**
 * One replica less only if the replicas left keep this share of the threshold: of a replica's
 * capacity (capacity.ts), or before one is learned, of the p95 it predicts (p95 grows as
 * 1/replicas under a fixed load: R-1 replicas give p x R/(R-1)). The 20 % left is the band in
 * which noise changes nothing (no flapping).
 */
export const DOWN_HEADROOM = 0.8;
/**
 * Up only for a demand that needs more replicas even 10 % smaller: the HPA's tolerance (its
 * --horizontal-pod-autoscaler-tolerance, 0.1). A request more in flight by the noise of a 4 s
 * rate, or a p95 a few ms over the threshold, changes nothing; the step, when it comes, is sized
 * for the whole demand.
 */
export const TOLERANCE = 0.1;
/** The window of what the operator reads (k8s/prometheus/rules.yml, group app-demand). */
export const WINDOW_S = 10;
/**
 * A p95 counts only if at least one request of the window lies above it: 1 / (1 - 0.95) = 20
 * requests (2 a second over 10 s). Below that the "p95" is the slowest request, whatever it was.
 */
export const MIN_REQUESTS = 20;
/** A p95 of at least this share of the threshold: a busy replica, whose latency grows with load. */
export const BUSY = 0.5;
/**
 * A load that is not ending: the requests in flight over the last 4 s at least (1 - FALLING) of
 * the 10 s figure. A window in which a load ends holds idle seconds under a p95 still of the load.
 */
export const FALLING = 0.2;
/** The demand: the requests in flight over the last 4 s (over 10 s without a 4 s figure). */
export const demandOf = (metric: Metric & { kind: 'value' }) =>
  metric.inFlightNow ?? metric.inFlight;

// #region decide
export function decide(
  spec: ScalerSpec,
  current: number,
  metric: Metric,
  history: Recommendation[],
  last: LastScale | undefined,
  now: Date,
  capacity?: number, // requests in flight one replica holds at the threshold (capacity.ts)
): Decision {
  const weighed = weigh(spec, current, metric, history, last, now, capacity);
  const { wanted, behind, highest, cooling, to, hold } = weighed;
  if (current === 0) return hold('ScalingDisabled');
  if (current < spec.minReplicas) return to(spec.minReplicas, 'BelowMinReplicas');
  if (current > spec.maxReplicas) return to(spec.maxReplicas, 'AboveMaxReplicas');
  // No number is not 0 ms: hold. (No traffic is a number, a rate of 0: it wants minReplicas.)
  if (metric.kind === 'unavailable') return hold('MetricUnavailable');
  if (metric.kind === 'no-series') return hold('NoSeries');
  // Up: in one step to what the demand needs (at most x2 or +4, never past max). In the cooldown
  // too, if the demand grew; but never past one step from the replicas before the cooldown.
  if (wanted > current && !cooling) return to(wanted, 'ScaledUp');
  if (wanted > current) return behind > current ? to(behind, 'ScaledUp') : hold('InCooldown');
  if (isSlow(spec, metric) && current === spec.maxReplicas) return hold('AtMaxReplicas');
  // Down: one replica, and only if the whole window wanted fewer (highest: its max).
  if (current === spec.minReplicas) return hold('AtMinReplicas');
  if (wanted === current) return hold('WithinTarget');
  if (highest >= current) return hold('ScaleDownStabilized');
  return cooling ? hold('InCooldown') : to(current - 1, 'ScaledDown');
}
// #endregion decide

// #region wanted
/**
 * The replicas one sample wants, from the SEEN replicas its p95 was measured on (the current ones,
 * or in the cooldown the ones before the last step); undefined when there is no number.
 */
export function wantedReplicas(
  spec: ScalerSpec,
  current: number,
  metric: Metric,
  seen = current,
  capacity?: number,
) {
  const { thresholdMs: t, minReplicas: min, maxReplicas: max } = spec;
  if (metric.kind === 'no-traffic') return min;
  if (metric.kind !== 'value') return undefined;
  const cap = Math.max(MAX_STEP_FACTOR * seen, seen + MAX_STEP_PODS); // one step from SEEN, at most
  if (capacity !== undefined) {
    // The demand now, at what a replica holds: up to what it needs beyond TOLERANCE (past a
    // plateau only from SEEN, slow beyond it); down to the fewest with DOWN_HEADROOM; min at least.
    const [demand, past] = [demandOf(metric), isSlow(spec, metric, TOLERANCE) ? seen : 0];
    const need = replicasFor(demand, capacity, max, past);
    const clearly = replicasFor(demand / (1 + TOLERANCE), capacity, max, past) > current;
    if (need > current && clearly) return Math.min(cap, need);
    const fewest = replicasFor(demand, capacity * DOWN_HEADROOM, max, max); // plateaus or not
    return Math.max(min, Math.min(current, fewest));
  }
  // No busy window yet: p95 falls as 1/replicas under a fixed load, so SEEN x p95/t bring it to t.
  if (isSlow(spec, metric)) {
    const proportional = Math.ceil((seen * metric.ms) / t);
    return Math.min(max, cap, Math.max(seen + 1, proportional));
  }
  // Under t: the fewest that keep p95 under DOWN_HEADROOM x t; never under min, never above now.
  const fewest = Math.ceil((current * metric.ms) / (t * DOWN_HEADROOM));
  return Math.max(min, Math.min(current, fewest));
}
// #endregion wanted

// #region window
/** The HPA's "max over the window": the most any recommendation of the last SECONDS wanted. */
export function maxOverWindow(window: Recommendation[], now: Date, seconds: number): number {
  // Not observed whole yet (a new resource, a memory that was cut): Infinity, so never down.
  const observed =
    window.length > 0 && Date.parse(window[0]!.time) <= now.getTime() - seconds * 1000;
  return observed ? Math.max(...window.map((r) => r.replicas)) : Infinity;
}
// #endregion window

// #region tick
/** How the operator acts on a LatencyScaler: normally, paused (holds), or dry run (no scale). */
export type Mode = 'active' | 'paused' | 'dry-run';

/** What status remembers between ticks, and across a restart or a new leader (RFC 3339 times). */
export interface Memory {
  /** The last scale, written with its intent (desiredReplicas) BEFORE the scale itself. */
  lastScaleTime?: string;
  /** What that scale counted from (LastScale.from). */
  scaledFromReplicas?: number;
  /** The last decision's replicas: for a scale, its intent. */
  desiredReplicas?: number;
  /** The last decision's reason. */
  lastReason?: string;
  /** When the replicas of the last scale were first seen all ready. */
  readyTime?: string;
  /** The scale-down window's recommendations. */
  recommendations?: Recommendation[];
  /** What one replica holds at the threshold (capacity.ts), as the last busy window showed it. */
  capacity?: number;
}

/** One tick of one LatencyScaler, as the controller read it. */
export interface Tick {
  spec: ScalerSpec;
  mode: Mode;
  /** The replicas the scale asks for, and how many of them are ready. */
  current: number;
  ready: number;
  memory: Memory;
  now: Date;
}

/** The reasons that scale: the only decisions recorded as an intent. */
export const SCALES: ReadonlySet<string> = new Set<Reason>([
  'ScaledUp',
  'ScaledDown',
  'BelowMinReplicas',
  'AboveMaxReplicas',
]);

/**
 * A scale recorded in status that the scale does not show yet: a crash (or a lost leader) came
 * between the status write and the scale. It is completed, and nothing new decided, while its
 * cooldown runs and the scale still shows the replicas it counted from: a dry run records no
 * scale, and a kubectl scale since then is someone's decision to keep.
 */
export function unfinishedIntent(tick: Tick): number | undefined {
  const { spec, mode, current, memory, now } = tick;
  const intent = memory.desiredReplicas;
  const written = Date.parse(memory.lastScaleTime ?? '');
  const recorded =
    mode === 'active' &&
    intent !== undefined &&
    intent !== current &&
    current === memory.scaledFromReplicas &&
    SCALES.has(memory.lastReason ?? '') &&
    withinCooldown(spec, written, +now);
  return recorded && intent >= spec.minReplicas && intent <= spec.maxReplicas ? intent : undefined;
}

/** status.readyTime after this tick: when the last scale's replicas were first all ready. */
export function readyTimeAfter(tick: Tick): string | undefined {
  const { lastScaleTime, readyTime } = tick.memory;
  if (tick.ready < tick.current || !lastScaleTime) return readyTime;
  return readyTime && Date.parse(readyTime) >= Date.parse(lastScaleTime)
    ? readyTime
    : rfc3339(tick.now);
}

/**
 * When the cooldown of the last scale counts from: when its replicas were all ready (the p95
 * window shows them only from then), if that came within cooldownSeconds of the write; else
 * the write. A pod stuck Pending or unready never holds scaling in either direction for longer.
 */
export function cooldownStart(
  spec: ScalerSpec,
  lastScaleTime: string | undefined,
  readyTime: string | undefined,
): Date | undefined {
  if (!lastScaleTime) return undefined;
  const written = Date.parse(lastScaleTime);
  const ready = Date.parse(readyTime ?? '');
  const late = ready > written && withinCooldown(spec, written, ready);
  return new Date(late ? ready : written);
}

/** A tick's whole decision: decide() in the cooldown this tick is in, then the mode's say. */
export interface Planned {
  decision: Decision;
  /** Whether the scale is written: active, and the replicas change. */
  scale: boolean;
  /** The decision's sentence, marked when a dry run does not apply it. */
  message: string;
  /** status.readyTime to keep. */
  readyTime: string | undefined;
  /** status.capacity to keep. */
  capacity: number | undefined;
}

/** Decides one tick (unless unfinishedIntent() said to complete a recorded scale first). */
export function plan(tick: Tick, metric: Metric): Planned {
  const { spec, mode, current, memory, now } = tick;
  const readyTime = readyTimeAfter(tick);
  const from = cooldownStart(spec, memory.lastScaleTime, readyTime);
  const last = from && { time: from, from: memory.scaledFromReplicas ?? current };
  const history = memory.recommendations ?? [];
  const cooling = from !== undefined && withinCooldown(spec, +from, +now);
  // Learned only from a busy window whose load is not ending (a starting one is read at its
  // last 4 s) and that shows the replicas there are, all ready (not in a cooldown).
  const learns =
    metric.kind === 'value' &&
    metric.rps * WINDOW_S >= MIN_REQUESTS &&
    metric.ms >= spec.thresholdMs * BUSY &&
    (metric.inFlightNow ?? -Infinity) >= (1 - FALLING) * metric.inFlight &&
    !cooling &&
    tick.ready >= current;
  const capacity =
    learns && metric.kind === 'value'
      ? capacityFrom(demandOf(metric), current, metric.ms, spec.thresholdMs)
      : memory.capacity;
  const decision =
    mode === 'paused'
      ? weigh(spec, current, metric, history, undefined, now, capacity).hold('Paused')
      : decide(spec, current, metric, history, last, now, capacity);
  const changes = decision.desired !== current;
  return {
    decision,
    scale: mode === 'active' && changes,
    message:
      mode === 'dry-run' && changes
        ? `dry run, not applied: ${decision.message}`
        : decision.message,
    readyTime,
    capacity,
  };
}
// #endregion tick

/** Whether AT (epoch ms) is less than cooldownSeconds after SINCE (epoch ms). */
function withinCooldown(spec: ScalerSpec, since: number, at: number): boolean {
  return at - since < spec.cooldownSeconds * 1000;
}

/**
 * p95 over the threshold (or over it by more than the share TOLERANCE, when given): a number,
 * too slow, and of enough requests to mean it (MIN_REQUESTS).
 */
function isSlow(spec: ScalerSpec, metric: Metric, tolerance = 0): boolean {
  return (
    metric.kind === 'value' &&
    metric.ms > spec.thresholdMs * (1 + tolerance) &&
    metric.rps * WINDOW_S >= MIN_REQUESTS
  );
}

/** The reasons decided before any sample is weighed: they leave the window as it was. */
const UNWEIGHED: ReadonlySet<Reason> = new Set([
  'Paused',
  'ScalingDisabled',
  'BelowMinReplicas',
  'AboveMaxReplicas',
  'MetricUnavailable',
  'NoSeries',
]);
/** The reasons where min or max decided the outcome (status condition ScalingLimited). */
const LIMITS: ReadonlySet<Reason> = new Set([
  'BelowMinReplicas',
  'AboveMaxReplicas',
  'AtMaxReplicas',
  'AtMinReplicas',
]);

/**
 * What decide() weighs, computed once: WANTED, what this sample wants (current when there is no
 * number); BEHIND, in the cooldown of a step up, what it wants of the replicas before that step;
 * the window with WANTED recorded, and HIGHEST, the max over it; COOLING, whether the last scale is
 * less than cooldownSeconds ago; TO(desired, reason), the whole Decision for a verdict, and
 * HOLD(reason), the same for the replicas there are now.
 */
function weigh(
  spec: ScalerSpec,
  current: number,
  metric: Metric,
  history: Recommendation[],
  last: LastScale | undefined,
  now: Date,
  capacity: number | undefined,
) {
  const seconds = spec.scaleDownWindowSeconds;
  const cooling = last !== undefined && withinCooldown(spec, +last.time, +now);
  const sample = wantedReplicas(spec, current, metric, current, capacity);
  const wanted = sample ?? current;
  // In the cooldown of a step up, the p95 is still mostly of the replicas it counted from: SEEN;
  // BEHIND, what the p95 asks of them (current when the step was enough).
  const seen = last && cooling && last.from < current ? last.from : current;
  const behind =
    seen < current ? (wantedReplicas(spec, current, metric, seen, capacity) ?? current) : current;
  const window =
    sample === undefined
      ? history
      : recentWindow([...history, { time: rfc3339(now), replicas: sample }], now, seconds);
  const highest = maxOverWindow(window, now, seconds);
  const to = (desired: number, reason: Reason): Decision => ({
    desired,
    reason,
    message: explain(reason, { spec, current, metric, desired, highest, seen, capacity }),
    limited: LIMITS.has(reason) || (desired === spec.maxReplicas && desired > current),
    inCooldown: cooling,
    recommendations: UNWEIGHED.has(reason) ? history : window,
    scaledFrom: reason === 'ScaledUp' ? seen : current,
  });
  return { wanted, behind, highest, cooling, to, hold: (reason: Reason) => to(current, reason) };
}

/**
 * One sentence for people per reason: the status condition's message, the Event's note, the log
 * line.
 */
function explain(
  reason: Reason,
  {
    spec,
    current,
    metric,
    desired,
    highest,
    seen,
    capacity,
  }: {
    spec: ScalerSpec;
    current: number;
    metric: Metric;
    desired: number;
    highest: number;
    seen: number;
    capacity: number | undefined;
  },
): string {
  const { thresholdMs: t, minReplicas: min, maxReplicas: max, scaleDownWindowSeconds: w } = spec;
  const said =
    metric.kind === 'value'
      ? `p95 ${Math.round(metric.ms)} ms` +
        (capacity === undefined
          ? ''
          : `, ${demandOf(metric).toFixed(1)} in flight (a replica holds ${capacity.toFixed(1)})`)
      : metric.kind === 'no-traffic'
        ? 'no traffic'
        : metric.kind === 'no-series'
          ? metric.detail
          : `Prometheus unavailable (${metric.error})`;
  switch (reason) {
    case 'ScalingDisabled':
      return 'scaled to 0 by someone: scaling is off';
    case 'Paused':
      return `paused: holding ${current} replicas`;
    case 'BelowMinReplicas':
      return `${current} replicas < minReplicas ${min}`;
    case 'AboveMaxReplicas':
      return `${current} replicas > maxReplicas ${max}`;
    case 'MetricUnavailable':
    case 'NoSeries':
      return `${said}: holding`;
    case 'AtMaxReplicas':
      return `${said} > ${t} ms, at maxReplicas ${max}`;
    case 'ScaledUp':
      if (capacity !== undefined) return `${said}: ${current} -> ${desired} replicas`;
      return seen < current
        ? `${said} > ${t} ms, still of ${seen} replicas: ` +
            `${current} -> ${desired} replicas (catching up)`
        : `${said} > ${t} ms: ${current} -> ${desired} replicas`;
    case 'InCooldown':
      if (capacity !== undefined) return `${said}: held in the cooldown`;
      return isSlow(spec, metric)
        ? `${said} > ${t} ms: ` +
            `${wantedReplicas(spec, current, metric) ?? current} replicas after the cooldown`
        : `${said}: ${current - 1} replicas after the cooldown`;
    case 'AtMinReplicas':
      return `${said}, at minReplicas ${min}`;
    case 'WithinTarget':
      if (capacity !== undefined) return `${said}: ${current} replicas are what it needs`;
      return metric.kind === 'value' && metric.ms > t
        ? `${said} of ${Math.round(metric.rps * WINDOW_S)} requests: ` +
            `too few to scale on (${MIN_REQUESTS})`
        : `${said}: ${current - 1} replicas would be too close to ${t} ms`;
    case 'ScaleDownStabilized':
      return `${said}: the last ${w} s asked for ${highest === Infinity ? 'more' : highest}`;
    case 'ScaledDown':
      return `${said}, ${w} s at most ${highest}: ${current} -> ${current - 1} replicas`;
  }
}

/** At most this many recommendations are kept (status.recommendations, maxItems in the CRD). */
export const MAX_RECOMMENDATIONS = 100;

/**
 * The recommendations that matter for a window of SECONDS ending at NOW: those inside it, plus
 * the newest one before it (it was in force when the window began), oldest first. A repeat of the
 * previous value is dropped (the earlier one stands for it: the same max, and a window covered as
 * early), and only the newest MAX_RECOMMENDATIONS are kept: losing the oldest only makes the
 * window "not observed yet", which holds (never a scale-down on a memory that was cut).
 */
export function recentWindow(
  history: Recommendation[],
  now: Date,
  seconds: number,
): Recommendation[] {
  const start = now.getTime() - seconds * 1000;
  const sorted = [...history].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  let first = 0;
  for (let i = 0; i < sorted.length; i++) if (Date.parse(sorted[i]!.time) <= start) first = i;
  const runs = sorted
    .slice(first)
    .filter((r, i, all) => i === 0 || r.replicas !== all[i - 1]!.replicas);
  return runs.slice(-MAX_RECOMMENDATIONS);
}

/** A time as Kubernetes writes it: RFC 3339, whole seconds, UTC. */
export function rfc3339(time: Date): string {
  return time.toISOString().replace(/\.\d+Z$/, 'Z');
}
