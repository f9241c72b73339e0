/**
 * The definitions behind `./kit bench autoscalers` (tooling/bench/metrics.ts), on timelines made
 * up here, one second per sample: what counts as a breach, a recovery, a reaction, a flap.
 */
import { readFileSync } from 'node:fs';
import { KIT_ROOT } from '@kit/testkit';
import {
  episodes,
  flaps,
  median,
  medianTable,
  mergeRuns,
  replicaSeconds,
  scaleChanges,
  timelineFigures,
  type BenchRun,
  type Sample,
} from '../bench/metrics.ts';

/** A timeline from per-second replicas and p95 (ms, or null for no traffic). */
function timeline(replicas: number[], p95: Array<number | null>): Sample[] {
  if (replicas.length !== p95.length) throw new Error('replicas and p95 differ in length');
  return replicas.map((r, t) => ({ t, replicas: r, p95Ms: p95[t]! }));
}
const repeat = <T>(value: T, n: number): T[] => Array.from({ length: n }, () => value);

test('scale changes and replica-seconds follow spec.replicas second by second', () => {
  const samples = timeline([1, 1, 2, 2, 3, 3, 2], repeat(50, 7));
  expect(scaleChanges(samples)).toEqual([
    { t: 2, from: 1, to: 2 },
    { t: 4, from: 2, to: 3 },
    { t: 6, from: 3, to: 2 },
  ]);
  // 1+1+2+2+3+3 over the six one-second intervals; the last sample ends the run.
  expect(replicaSeconds(samples)).toBe(12);
});

test('a flap is a reversal of direction within 2 minutes; the same direction twice is not one', () => {
  const up = (t: number, from: number) => ({ t, from, to: from + 1 });
  const down = (t: number, from: number) => ({ t, from, to: from - 1 });
  expect(flaps([up(0, 1), up(30, 2), up(60, 3)])).toBe(0);
  expect(flaps([up(0, 1), down(60, 2), up(100, 1)])).toBe(2);
  expect(flaps([up(0, 1), down(120, 2)])).toBe(1); // exactly 2 min still counts
  expect(flaps([up(0, 1), down(121, 2)])).toBe(0);
});

test('one breach: reaction is breach -> first scale-up, recovery is breach -> the start of 15 s under 100 ms', () => {
  // 5 s fine, breach at t=5, scale-up at t=12, p95 back under at t=20 and stays.
  const p95 = [...repeat(50, 5), ...repeat(180, 15), ...repeat(80, 20)];
  const replicas = [...repeat(1, 12), ...repeat(2, 28)];
  expect(episodes(timeline(replicas, p95))).toEqual([
    { start: 5, recovered: 20, firstScaleUp: 12 },
  ]);
  expect(timelineFigures(timeline(replicas, p95))).toEqual({
    recovery_s: 15,
    breach_to_scale_s: 7,
    replica_seconds: 12 + 2 * 27,
    scale_changes: 1,
    flaps: 0,
  });
});

test('a dip under 100 ms shorter than 15 s is not a recovery; a gap without traffic breaks the hold', () => {
  const dip = [...repeat(150, 5), ...repeat(90, 10), ...repeat(150, 5), ...repeat(90, 16)];
  expect(episodes(timeline(repeat(1, dip.length), dip))).toEqual([
    { start: 0, recovered: 20, firstScaleUp: null },
  ]);
  const gap = [...repeat(150, 5), ...repeat(90, 10), null, ...repeat(90, 16)];
  expect(episodes(timeline(repeat(1, gap.length), gap))).toEqual([
    { start: 0, recovered: 16, firstScaleUp: null },
  ]);
  // No traffic at all is no breach (null is "no sample", not "slow" and not "fast").
  expect(episodes(timeline(repeat(1, 10), repeat(null, 10)))).toEqual([]);
});

test('two breaches: the figures are those of the slower one; a breach that never recovers is null', () => {
  const p95 = [...repeat(150, 10), ...repeat(60, 20), ...repeat(200, 30), ...repeat(60, 20)];
  const replicas = [...repeat(1, 4), ...repeat(2, 26), ...repeat(2, 15), ...repeat(3, 35)];
  const samples = timeline(replicas, p95);
  expect(episodes(samples)).toEqual([
    { start: 0, recovered: 10, firstScaleUp: 4 },
    { start: 30, recovered: 60, firstScaleUp: 45 },
  ]);
  expect(timelineFigures(samples)).toMatchObject({
    recovery_s: 30,
    breach_to_scale_s: 15,
    scale_changes: 2,
    flaps: 0,
  });

  const never = timeline(repeat(1, 30), [...repeat(60, 10), ...repeat(300, 20)]);
  expect(timelineFigures(never)).toMatchObject({
    recovery_s: null,
    breach_to_scale_s: null,
    replica_seconds: 29,
    scale_changes: 0,
  });
  // Never breached: nothing to recover from.
  expect(timelineFigures(timeline(repeat(1, 10), repeat(60, 10)))).toMatchObject({
    recovery_s: 0,
    breach_to_scale_s: null,
  });
});

test('a scale-up before the breach or after its recovery is not the reaction to it', () => {
  const p95 = [...repeat(50, 5), ...repeat(150, 5), ...repeat(50, 20)];
  const replicas = [...repeat(1, 3), ...repeat(2, 25), ...repeat(3, 2)];
  expect(episodes(timeline(replicas, p95))).toEqual([
    { start: 5, recovered: 10, firstScaleUp: null },
  ]);
});

test('median over runs; a run that never recovered counts as the slowest', () => {
  expect(median([3, 1, 2])).toBe(2);
  expect(median([4, 1, 2, 3])).toBe(2.5);
  expect(median([null, 1, 2])).toBe(2);
  expect(median([null, null, 2])).toBeNull();
  expect(median([])).toBeNull();
});

test('--merge keeps the runs of what was not run again, replaces a pair run again whole, and orders by profile, autoscaler, run', () => {
  const run = (profile: string, autoscaler: string, n: number, tag: string) => ({
    profile,
    autoscaler,
    run: n,
    tag,
  });
  const old = [
    run('closed', 'hpa', 1, 'old'),
    run('open', 'operator', 1, 'old'),
    run('closed', 'operator', 2, 'old'),
    run('closed', 'operator', 1, 'old'),
    run('open', 'hpa', 1, 'old'),
    run('open', 'hpa', 2, 'old'),
  ];
  const fresh = [
    run('open', 'keda', 1, 'new'),
    run('open', 'hpa', 1, 'new'),
    run('closed', 'keda', 1, 'new'),
  ];
  expect(
    mergeRuns(old, fresh, ['closed', 'open'], ['none', 'operator', 'hpa', 'keda']).map(
      (r) => `${r.profile} ${r.autoscaler} ${r.run} ${r.tag}`,
    ),
  ).toEqual([
    'closed operator 1 old',
    'closed operator 2 old',
    'closed hpa 1 old',
    'closed keda 1 new',
    // open hpa was run again (1 run): its 2 old runs are gone, not kept beside it
    'open operator 1 old',
    'open hpa 1 new',
    'open keda 1 new',
  ]);
  expect(mergeRuns([], fresh, ['closed', 'open'], ['hpa', 'keda'])).toEqual([
    fresh[2],
    fresh[1],
    fresh[0],
  ]);
});

test("step 04's DESIGN.md quotes the table of the committed benchmark, as `./kit bench autoscalers` prints it", () => {
  const { runs } = JSON.parse(
    readFileSync(`${KIT_ROOT}/load/benchmarks/autoscalers.json`, 'utf8'),
  ) as { runs: BenchRun[] };
  const profiles = [...new Set(runs.map((r) => r.profile))];
  const autoscalers = [...new Set(runs.map((r) => r.autoscaler))];
  const design = readFileSync(`${KIT_ROOT}/steps/04-operator/DESIGN.md`, 'utf8');
  expect(design).toContain(`\n${medianTable(runs, profiles, autoscalers)}\n`);
});
