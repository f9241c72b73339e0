/**
 * The operator beat's figures, as pure functions of what the demo recorded: a timeline of
 * samples (replicas, Prometheus's p95, the operator's decision) and k6's request durations.
 * No clock, no network: tooling/test/demo.test.ts checks them row by row.
 */
import { sharedWith } from '../../steps/04-operator/operator/src/capacity.ts';

/** One look at the cluster during the operator beat. */
export interface Sample {
  /** Seconds since the load started (negative before it). */
  t: number;
  /** The Deployment's spec.replicas: what the operator asked for. */
  replicas: number;
  /** Replicas ready to serve. */
  ready: number;
  /** Prometheus's p95 over the last 10 s, in ms; null when it has no sample (no traffic). */
  p95: number | null;
  /** When Prometheus's rule recorded that p95 (same clock as t): earlier than t by up to its 5 s interval. */
  p95At?: number;
  /** The operator's last decision (a reason such as ScaledUp), or null if it has said nothing yet. */
  decision: string | null;
}

/** When the load ran, in the timeline's seconds, and what the LatencyScaler promised. */
export interface Run {
  /** End of the heavy load ("rush hour"), in seconds since it started. */
  loadEnd: number;
  thresholdMs: number;
  minReplicas: number;
  maxReplicas: number;
}

/** A change of the Deployment's replicas, as the timeline saw it. */
export interface ScaleEvent {
  t: number;
  from: number;
  to: number;
}

export interface Summary {
  /** The most replicas the operator asked for. */
  peakReplicas: number;
  /** Seconds from the first p95 over the threshold (as Prometheus recorded it) to the first scale up seen; null if either never happened. */
  breachToFirstScaleS: number | null;
  /** Seconds from the first breach until p95 was under the threshold for the rest of the load; null if it never was. */
  breachToRecoveredS: number | null;
  /** Share of k6's requests during the load answered in under the threshold (0-1); null without requests. */
  shareUnderThreshold: number | null;
  /** Seconds from the end of the load until the replicas were back at minReplicas for good; null if they never were. */
  backToMinS: number | null;
  /** Every change of replicas, in order. */
  scaleEvents: ScaleEvent[];
}

/** Changes of spec.replicas between consecutive samples. */
export function scaleEvents(samples: readonly Sample[]): ScaleEvent[] {
  const events: ScaleEvent[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [before, after] = [samples[i - 1]!, samples[i]!];
    if (after.replicas !== before.replicas)
      events.push({ t: after.t, from: before.replicas, to: after.replicas });
  }
  return events;
}

/** Share of DURATIONS (ms) strictly under LIMIT ms; null when there are none. */
export function shareUnder(durations: readonly number[], limitMs: number): number | null {
  if (durations.length === 0) return null;
  return durations.filter((ms) => ms < limitMs).length / durations.length;
}

/**
 * The first time T from which PREDICATE holds for every sample in [T, until]; null if the last
 * sample up to UNTIL fails it (or there is none).
 */
export function holdsFrom(
  samples: readonly Sample[],
  predicate: (s: Sample) => boolean,
  from: number,
  until = Infinity,
): number | null {
  const window = samples.filter((s) => s.t >= from && s.t <= until);
  let start: number | null = null;
  for (const sample of window) {
    if (!predicate(sample)) start = null;
    else start ??= sample.t;
  }
  return start;
}

const round1 = (s: number) => Math.round(s * 10) / 10;

/** The summary.json of the operator beat. */
export function summarize(
  samples: readonly Sample[],
  run: Run,
  durationsMs: readonly number[],
): Summary {
  const during = samples.filter((s) => s.t >= 0 && s.t <= run.loadEnd);
  const breach = during.find((s) => s.p95 !== null && s.p95 > run.thresholdMs);
  // The breach happened when Prometheus recorded it, which the operator saw as soon as we did.
  const breachAt = breach ? Math.min(breach.t, breach.p95At ?? breach.t) : 0;
  const initial = samples.find((s) => s.t >= 0)?.replicas ?? samples[0]?.replicas ?? 0;
  const firstUp = breach ? samples.find((s) => s.t >= breach.t && s.replicas > initial) : undefined;
  // Recovered: a p95 sample under the threshold, and every sample after it until the load ends
  // too ("no data" would not count as recovered).
  const recovered = breach
    ? holdsFrom(samples, (s) => s.p95 !== null && s.p95 < run.thresholdMs, breach.t, run.loadEnd)
    : null;
  const atMin = holdsFrom(samples, (s) => s.replicas === run.minReplicas, run.loadEnd);
  const last = samples.at(-1);
  return {
    peakReplicas: Math.max(0, ...samples.map((s) => s.replicas)),
    breachToFirstScaleS: breach && firstUp ? round1(firstUp.t - breachAt) : null,
    breachToRecoveredS:
      breach && recovered !== null && firstUp ? round1(recovered - breachAt) : null,
    shareUnderThreshold: ((share) => (share === null ? null : Math.round(share * 10000) / 10000))(
      shareUnder(durationsMs, run.thresholdMs),
    ),
    // Only "for good" if the timeline went on after the load (the last sample is at min).
    backToMinS:
      atMin !== null && last && last.t > run.loadEnd
        ? round1(Math.max(0, atMin - run.loadEnd))
        : null,
    scaleEvents: scaleEvents(samples),
  };
}

/**
 * The capacity model of /slow (steps/03-metrics/src/capacity.ts): a replica works on SLOTS
 * requests at once, WORK ms each, and queues the rest. Through a NodePort, kube-proxy deals each
 * connection to a replica at random, so a request of VUS closed loops on N replicas shares its
 * replica with 1 + Binomial(VUS - 1, 1/N) of them (the operator's sharedWith: its 95th
 * percentile). The fewest replicas (within min..max) at which 95 % of requests wait turns that
 * add up to less than the threshold: what the operator must reach at least.
 */
export function replicasNeeded(
  load: { vus: number; slots: number; workMs: number },
  run: Pick<Run, 'thresholdMs' | 'minReplicas' | 'maxReplicas'>,
): number {
  for (let n = run.minReplicas; n < run.maxReplicas; n++) {
    const turns = Math.ceil(sharedWith(load.vus, n) / load.slots);
    if (turns * load.workMs < run.thresholdMs) return n;
  }
  return run.maxReplicas;
}

/** Latency of one of VUS closed loops on N evenly loaded replicas, by the same model (ms). */
export function modelLatencyMs(
  load: { vus: number; slots: number; workMs: number },
  replicas: number,
): number {
  return Math.ceil(load.vus / (replicas * load.slots)) * load.workMs;
}

/** k6's CSV output (--out csv=FILE): the http_req_duration values, in ms. */
export function durationsFromK6Csv(csv: string): number[] {
  const lines = csv.split('\n');
  const header = lines[0]?.split(',') ?? [];
  const [name, value] = [header.indexOf('metric_name'), header.indexOf('metric_value')];
  if (name < 0 || value < 0) return [];
  return lines
    .slice(1)
    .map((line) => line.split(','))
    .filter((cols) => cols[name] === 'http_req_duration')
    .map((cols) => Number(cols[value]))
    .filter((ms) => Number.isFinite(ms));
}
