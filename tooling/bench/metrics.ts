/**
 * The figures of `./kit bench autoscalers`, computed from one run's timeline: pure functions, so
 * tooling/test/bench-metrics.test.ts proves each definition on made-up timelines.
 *
 * A timeline has one sample per second: the Deployment's replicas and the p95 that Prometheus
 * recorded (app:request_latency_seconds:p95_10s, the signal every autoscaler here reads). A p95 of
 * null is "no sample" (no traffic): neither a breach nor a recovery.
 */
import { thresholdMs } from '../lib/manifests.ts';

export const THRESHOLD_MS = thresholdMs();
/** p95 ≤ threshold must hold this long to count as recovered. */
export const HOLD_S = 15;
/** A change of direction within this long after the previous change is a flap. */
export const FLAP_WINDOW_S = 120;

export interface Sample {
  /** Seconds since the start of the run. */
  t: number;
  /** The Deployment's spec.replicas: what the autoscaler decided (and pays for). */
  replicas: number;
  /** Prometheus' p95 at that second, in ms, or null with no traffic. */
  p95Ms: number | null;
}

export interface ScaleChange {
  t: number;
  from: number;
  to: number;
}

/** One breach: p95 over the threshold from `start` until it held ≤ threshold for HOLD_S from `recovered`. */
export interface Episode {
  start: number;
  /** When p95 went back to ≤ threshold for good (held HOLD_S), or null if it never did. */
  recovered: number | null;
  /** The first scale-up at or after `start` (and before recovery), or null if there was none. */
  firstScaleUp: number | null;
}

/** The per-run figures of load/benchmarks/autoscalers.json (those from the timeline). */
export interface TimelineFigures {
  recovery_s: number | null;
  breach_to_scale_s: number | null;
  replica_seconds: number;
  scale_changes: number;
  flaps: number;
}

/** Every change of replicas between consecutive samples. */
export function scaleChanges(samples: Sample[]): ScaleChange[] {
  const changes: ScaleChange[] = [];
  for (let i = 1; i < samples.length; i++) {
    const [before, now] = [samples[i - 1]!, samples[i]!];
    if (now.replicas !== before.replicas)
      changes.push({ t: now.t, from: before.replicas, to: now.replicas });
  }
  return changes;
}

/** Changes whose direction reverses the previous change's within `windowS` (up then down, or down then up). */
export function flaps(changes: ScaleChange[], windowS = FLAP_WINDOW_S): number {
  let count = 0;
  for (let i = 1; i < changes.length; i++) {
    const [before, now] = [changes[i - 1]!, changes[i]!];
    const reversed = Math.sign(now.to - now.from) !== Math.sign(before.to - before.from);
    if (reversed && now.t - before.t <= windowS) count++;
  }
  return count;
}

/** Replicas integrated over time: each sample's replicas for the seconds until the next sample. */
export function replicaSeconds(samples: Sample[]): number {
  let total = 0;
  for (let i = 1; i < samples.length; i++)
    total += samples[i - 1]!.replicas * (samples[i]!.t - samples[i - 1]!.t);
  return total;
}

/**
 * The run's breaches. One starts at a sample over the threshold; it ends (recovers) at the first
 * sample from which p95 stays ≤ threshold for HOLD_S seconds (every sample in that span ≤
 * threshold; a missing sample breaks the span). A sample over the threshold after that starts the
 * next breach.
 */
export function episodes(samples: Sample[], thresholdMs = THRESHOLD_MS, holdS = HOLD_S): Episode[] {
  const changes = scaleChanges(samples);
  const found: Episode[] = [];
  let start: number | null = null;
  let goodSince: number | null = null; // start of the current run of samples ≤ threshold
  const close = (recovered: number | null) => {
    const firstScaleUp =
      changes.find(
        (c) => c.to > c.from && c.t >= start! && (recovered === null || c.t <= recovered),
      )?.t ?? null;
    found.push({ start: start!, recovered, firstScaleUp });
    start = null;
  };
  for (const { t, p95Ms } of samples) {
    const good = p95Ms !== null && p95Ms <= thresholdMs;
    const bad = p95Ms !== null && p95Ms > thresholdMs;
    goodSince = good ? (goodSince ?? t) : null;
    if (start === null && bad) start = t;
    else if (start !== null && goodSince !== null && t - goodSince >= holdS) close(goodSince);
  }
  if (start !== null) close(null);
  return found;
}

/**
 * The timeline's figures. With several breaches (the profile's ramp and its step back up), recovery
 * and breach→scale are those of the slowest one: an autoscaler is as good as its worst reaction.
 * recovery_s is null when a breach never recovered; breach_to_scale_s is null when no breach
 * was answered by a scale-up (no autoscaler, or already at maxReplicas).
 */
export function timelineFigures(samples: Sample[]): TimelineFigures {
  const all = episodes(samples);
  const recoveries = all.map((e) => (e.recovered === null ? null : e.recovered - e.start));
  const reactions = all.flatMap((e) => (e.firstScaleUp === null ? [] : [e.firstScaleUp - e.start]));
  const changes = scaleChanges(samples);
  return {
    recovery_s: recoveries.includes(null)
      ? null
      : recoveries.length
        ? Math.max(...(recoveries as number[]))
        : 0,
    breach_to_scale_s: reactions.length ? Math.max(...reactions) : null,
    replica_seconds: replicaSeconds(samples),
    scale_changes: changes.length,
    flaps: flaps(changes),
  };
}

/** The median of the numbers (null entries: a run that never recovered counts as slower than any). */
export function median(values: Array<number | null>): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => (a === null ? 1 : b === null ? -1 : a - b));
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[mid]!;
  const [a, b] = [sorted[mid - 1]!, sorted[mid]!];
  return a === null || b === null ? null : (a + b) / 2;
}

/** One run's figures, as load/benchmarks/autoscalers.json keeps them. */
export interface BenchRun extends TimelineFigures {
  autoscaler: string;
  run: number;
  profile: string;
  share_under_100ms: number;
  failed: number;
}

/**
 * The table `./kit bench autoscalers` prints: the medians over the runs of each profile and
 * autoscaler, in the order given. steps/04-operator/DESIGN.md quotes it, and a test rebuilds it
 * from the committed JSON, so DESIGN.md's figures are the command's.
 */
export function medianTable(
  all: BenchRun[],
  profiles: readonly string[],
  autoscalers: readonly string[],
): string {
  const fmt = (v: number | null, digits = 0) => (v === null ? 'never' : v.toFixed(digits));
  const rows = [
    [
      'profile',
      'autoscaler',
      'runs',
      '≤100ms',
      'recovery s',
      'breach→scale s',
      'replica·s',
      'changes',
      'flaps',
      'failed',
    ],
  ];
  for (const profile of profiles) {
    for (const autoscaler of autoscalers) {
      const mine = all.filter((r) => r.profile === profile && r.autoscaler === autoscaler);
      if (!mine.length) continue;
      const m = (pick: (r: BenchRun) => number | null) => median(mine.map(pick));
      rows.push([
        profile,
        autoscaler,
        String(mine.length),
        `${fmt(
          m((r) => r.share_under_100ms * 100),
          1,
        )} %`,
        fmt(m((r) => r.recovery_s)),
        mine.every((r) => r.breach_to_scale_s === null) ? '-' : fmt(m((r) => r.breach_to_scale_s)),
        fmt(m((r) => r.replica_seconds)),
        fmt(m((r) => r.scale_changes)),
        fmt(m((r) => r.flaps)),
        fmt(m((r) => r.failed)),
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** What identifies a run across files: who scaled, under which load, which of the runs. */
export interface RunKey {
  autoscaler: string;
  profile: string;
  run: number;
}

/**
 * `--merge`: the runs of OLD whose autoscaler and profile FRESH did not run again, then FRESH's;
 * ordered by profile (PROFILES), autoscaler (AUTOSCALERS), run, as the table and the plot show them.
 * A pair run again is replaced whole: 3 new runs never sit beside 3 old ones as "6 runs".
 */
export function mergeRuns<T extends RunKey>(
  old: T[],
  fresh: T[],
  profiles: readonly string[],
  autoscalers: readonly string[],
): T[] {
  const rerun = new Set(fresh.map((r) => `${r.profile} ${r.autoscaler}`));
  const rank = (r: T) => [profiles.indexOf(r.profile), autoscalers.indexOf(r.autoscaler), r.run];
  return [...old.filter((r) => !rerun.has(`${r.profile} ${r.autoscaler}`)), ...fresh].sort((a, b) =>
    rank(a).reduce((d, x, i) => d || x - rank(b)[i]!, 0),
  );
}
