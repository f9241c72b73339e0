/**
 * The operator's decision is pure logic (operator/src/decide.ts): checked row by row, with no
 * cluster, no Prometheus and no clock. The cluster suite (operator.cluster.test.ts) proves the
 * same rules on a real cluster under real load.
 */
import { decide, type LatencySample, type Reason, type ScalerSpec } from '../operator/src/decide.js';
import { conditionsFor, mergeConditions, sameStatus } from '../operator/src/status.js';
import { WorkQueue } from '../operator/src/queue.js';

const spec: ScalerSpec = { thresholdMs: 100, minReplicas: 1, maxReplicas: 3, cooldownSeconds: 30 };
const now = new Date('2026-11-22T12:00:00Z');
const ago = (seconds: number) => new Date(now.getTime() - seconds * 1000);
const ms = (value: number): LatencySample => ({ kind: 'value', ms: value });
const noData: LatencySample = { kind: 'no-data' };
const down: LatencySample = { kind: 'unavailable', error: 'ECONNREFUSED' };

// current replicas, latency, last scale, -> desired, reason, limited, in cooldown
const table: Array<[string, number, LatencySample, Date | undefined, number, Reason, boolean, boolean]> = [
  ['slow: one more replica', 1, ms(160), undefined, 2, 'ScaledUp', false, false],
  ['slow, cooldown over: one more', 2, ms(120), ago(31), 3, 'ScaledUp', false, false],
  ['slow, in cooldown: hold', 2, ms(120), ago(10), 2, 'InCooldown', false, true],
  ['slow at max: hold, limited by max', 3, ms(300), undefined, 3, 'AtMaxReplicas', true, false],
  ['just over the threshold counts', 1, ms(100.5), undefined, 2, 'ScaledUp', false, false],
  ['exactly the threshold: hold', 2, ms(100), undefined, 2, 'WithinTarget', false, false],
  ['between threshold/2 and threshold: hold', 3, ms(70), ago(600), 3, 'WithinTarget', false, false],
  ['exactly threshold/2: hold', 3, ms(50), ago(600), 3, 'WithinTarget', false, false],
  ['well under: one replica less', 3, ms(45), ago(600), 2, 'ScaledDown', false, false],
  ['well under, in cooldown: hold', 3, ms(45), ago(5), 3, 'InCooldown', false, true],
  ['well under at min: hold, limited by min', 1, ms(20), undefined, 1, 'AtMinReplicas', true, false],
  ['Prometheus down: hold (never scale on missing data)', 3, down, ago(600), 3, 'MetricUnavailable', false, false],
  ['Prometheus down while slow: hold too', 1, down, undefined, 1, 'MetricUnavailable', false, false],
  ['no traffic (no sample) is not 0 ms: hold', 3, noData, ago(600), 3, 'NoData', false, false],
  ['below min: up to min, whatever the metric', 1, down, undefined, 2, 'BelowMinReplicas', true, false],
  ['above max: down to max, even in cooldown', 5, ms(300), ago(1), 3, 'AboveMaxReplicas', true, true],
  ['scaled to 0 by someone: leave it', 0, ms(300), undefined, 0, 'ScalingDisabled', false, false],
];

test.each(table)('%s', (_, current, latency, lastScale, desired, reason, limited, inCooldown) => {
  const specFor = reason === 'BelowMinReplicas' ? { ...spec, minReplicas: 2 } : spec;
  const decision = decide(specFor, current, latency, lastScale, now);
  expect(decision).toMatchObject({ desired, reason, limited, inCooldown });
  expect(decision.message).not.toBe('');
});

test('never outside [min, max], and never more than one step at a time from inside it', () => {
  const samples: LatencySample[] = [ms(1), ms(49), ms(50), ms(99), ms(100), ms(101), ms(1000), noData, down];
  for (let min = 1; min <= 4; min++) {
    for (let max = min; max <= 5; max++) {
      for (let current = 1; current <= 7; current++) {
        for (const latency of samples) {
          for (const last of [undefined, ago(1), ago(29), ago(30), ago(3600)]) {
            const { desired } = decide({ ...spec, minReplicas: min, maxReplicas: max }, current, latency, last, now);
            expect(desired).toBeGreaterThanOrEqual(min);
            expect(desired).toBeLessThanOrEqual(max);
            if (current >= min && current <= max) expect(Math.abs(desired - current)).toBeLessThanOrEqual(1);
            if (latency.kind !== 'value' && current >= min && current <= max) expect(desired).toBe(current);
          }
        }
      }
    }
  }
});

test('the cooldown ends exactly cooldownSeconds after the last scale', () => {
  expect(decide(spec, 1, ms(200), ago(29.999), now).reason).toBe('InCooldown');
  expect(decide(spec, 1, ms(200), ago(30), now).reason).toBe('ScaledUp');
  expect(decide({ ...spec, cooldownSeconds: 0 }, 1, ms(200), now, now).reason).toBe('ScaledUp');
});

test('status: MetricAvailable says why a sample is missing, and an unchanged state writes nothing', () => {
  const at = (latency: LatencySample, current = 2) => conditionsFor(decide(spec, current, latency, undefined, now), latency);
  expect(at(ms(80)).find((c) => c.type === 'MetricAvailable')).toMatchObject({ status: 'True', reason: 'Sampled' });
  expect(at(noData).find((c) => c.type === 'MetricAvailable')).toMatchObject({ status: 'False', reason: 'NoData' });
  expect(at(down).find((c) => c.type === 'MetricAvailable')).toMatchObject({ status: 'False', reason: 'PrometheusUnavailable' });
  expect(at(ms(300), 3).find((c) => c.type === 'ScalingLimited')).toMatchObject({ status: 'True', reason: 'AtMaxReplicas' });

  const first = mergeConditions(undefined, at(ms(80)), 1, now);
  const later = new Date(now.getTime() + 60_000);
  // Same statuses a minute later: same lastTransitionTime, so the status is unchanged.
  const again = mergeConditions(first, at(ms(75)), 1, later);
  expect(again.map((c) => c.lastTransitionTime)).toEqual(first.map((c) => c.lastTransitionTime));
  // Prometheus goes away: only MetricAvailable transitions.
  const broken = mergeConditions(first, at(down), 1, later);
  expect(broken.find((c) => c.type === 'MetricAvailable')?.lastTransitionTime).toBe('2026-11-22T12:01:00Z');
  expect(broken.find((c) => c.type === 'ScalingActive')?.lastTransitionTime).toBe('2026-11-22T12:00:00Z');
  // The API server returns keys sorted: still "the same status".
  const status = { observedGeneration: 1, currentReplicas: 2, conditions: first };
  const sorted = JSON.parse(JSON.stringify(status, Object.keys({ ...status, ...first[0] }).sort()));
  expect(sameStatus(sorted, status)).toBe(true);
  expect(sameStatus({ ...status, currentReplicas: 3 }, status)).toBe(false);
});

test('the work queue runs a key once however often it is added, and never twice at once', async () => {
  const queue = new WorkQueue();
  const runs: string[] = [];
  let running = 0;
  let peak = 0;
  const done = queue.run(async (key) => {
    running++;
    peak = Math.max(peak, running);
    runs.push(key);
    if (key === 'hits/a' && runs.length === 1) queue.add('hits/a'); // changed while in progress: once more
    await new Promise((resolve) => setTimeout(resolve, 5));
    running--;
  });
  queue.add('hits/a');
  queue.add('hits/a');
  queue.add('hits/b');
  await new Promise((resolve) => setTimeout(resolve, 50));
  queue.close();
  await done;
  expect(runs).toEqual(['hits/a', 'hits/b', 'hits/a']);
  expect(peak).toBe(1);
});
