/**
 * `./kit demo`: the figures of summary.json (pure functions, row by row), the options and the
 * beat list; then the Docker beats, run for real in --auto (step 00 crashing with empty logs,
 * `time docker stop` 10 s before step 02 and under 1 s after).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';
import { checkReach, parseDemoArgs, selectBeats, UsageError } from '../demo/args.ts';
import {
  BEATS,
  notRestarted,
  onlyStarting,
  podRows,
  realSeconds,
  restartedAtLeast,
} from '../demo/beats.ts';
import {
  durationsFromK6Csv,
  holdsFrom,
  modelLatencyMs,
  replicasNeeded,
  scaleEvents,
  shareUnder,
  summarize,
  type Run,
  type Sample,
} from '../demo/metrics.ts';
import { decisionOf, observe, timelineLine } from '../demo/status.ts';

const execFileAsync = promisify(execFile);
const run: Run = { loadEnd: 100, thresholdMs: 100, minReplicas: 1, maxReplicas: 3 };
/** A timeline from rows of [t, replicas, p95]. */
const timeline = (rows: Array<[number, number, number | null]>): Sample[] =>
  rows.map(([t, replicas, p95]) => ({ t, replicas, ready: replicas, p95, decision: null }));

describe('summary.json, from the timeline and k6', () => {
  // The story of the beat: quiet, breach at 6 s, 1 -> 2 at 10 s, 2 -> 3 at 40 s, under 100 ms
  // from 70 s to the end of the load, then down one at a time, at min from 150 s.
  const story = timeline([
    [-4, 1, null],
    [0, 1, null],
    [2, 1, 60],
    [6, 1, 130],
    [10, 2, 140],
    [20, 2, 120],
    [40, 3, 105],
    [60, 3, 101],
    [70, 3, 90],
    [90, 3, 60],
    [100, 3, 55],
    [110, 3, 30],
    [130, 2, 20],
    [150, 1, 15],
    [170, 1, 12],
  ]);

  test('peak, breach -> first scale, breach -> recovered, back to min, the scale events', () => {
    expect(summarize(story, run, [])).toEqual({
      peakReplicas: 3,
      breachToFirstScaleS: 4, // 6 s -> 10 s
      breachToRecoveredS: 64, // 6 s -> 70 s
      shareUnderThreshold: null,
      backToMinS: 50, // 100 s -> 150 s
      scaleEvents: [
        { t: 10, from: 1, to: 2 },
        { t: 40, from: 2, to: 3 },
        { t: 130, from: 3, to: 2 },
        { t: 150, from: 2, to: 1 },
      ],
    });
  });

  test('the breach counts from when Prometheus recorded it, not from when the demo looked', () => {
    const seen = timeline([
      [0, 1, null],
      [6, 2, 130],
      [20, 2, 90],
    ]);
    seen[1]!.p95At = 3.5; // recorded at 3.5 s; the demo's sample at 6 s already saw 2 replicas
    expect(summarize(seen, { ...run, loadEnd: 20 }, [])).toMatchObject({
      breachToFirstScaleS: 2.5,
      breachToRecoveredS: 16.5,
    });
  });

  test('recovered means under the threshold until the load ends, not a dip', () => {
    const dip = timeline([
      [0, 1, 130],
      [10, 2, 90],
      [20, 2, 120],
      [30, 3, 95],
      [40, 3, 80],
    ]);
    expect(summarize(dip, { ...run, loadEnd: 40 }, []).breachToRecoveredS).toBe(30);
    const never = timeline([
      [0, 1, 130],
      [10, 2, 90],
      [20, 2, 120],
    ]);
    expect(summarize(never, { ...run, loadEnd: 20 }, []).breachToRecoveredS).toBeNull();
    // "no data" in the middle of the load is not "fast".
    const gap = timeline([
      [0, 1, 130],
      [10, 2, 90],
      [20, 2, null],
      [30, 2, 80],
    ]);
    expect(summarize(gap, { ...run, loadEnd: 30 }, []).breachToRecoveredS).toBe(30);
  });

  test('no breach: nothing to scale for, nothing to recover from', () => {
    const calm = timeline([
      [0, 1, 40],
      [10, 1, 50],
      [20, 1, 45],
      [30, 1, 40],
    ]);
    expect(summarize(calm, { ...run, loadEnd: 20 }, [])).toMatchObject({
      peakReplicas: 1,
      breachToFirstScaleS: null,
      breachToRecoveredS: null,
      backToMinS: 0,
    });
  });

  test('back to min only counts if it stays there, and only once the timeline went on past the load', () => {
    const bounce = timeline([
      [0, 2, 130],
      [100, 3, 60],
      [120, 1, 20],
      [130, 2, 20],
      [150, 1, 20],
      [160, 1, 20],
    ]);
    expect(summarize(bounce, run, []).backToMinS).toBe(50);
    const stuck = timeline([
      [0, 2, 130],
      [100, 3, 60],
      [120, 2, 20],
      [160, 2, 20],
    ]);
    expect(summarize(stuck, run, []).backToMinS).toBeNull();
    expect(
      summarize(
        timeline([
          [0, 1, 130],
          [100, 1, 90],
        ]),
        run,
        [],
      ).backToMinS,
    ).toBeNull();
  });

  test('share of requests under the threshold (strictly under), and none without requests', () => {
    expect(shareUnder([10, 99.9, 100, 150], 100)).toBe(0.5);
    expect(shareUnder([], 100)).toBeNull();
    expect(summarize(story, run, [50, 60, 120]).shareUnderThreshold).toBe(0.6667);
  });

  test('holdsFrom: the start of the last unbroken run up to the end', () => {
    const s = timeline([
      [0, 1, 1],
      [1, 2, 1],
      [2, 1, 1],
      [3, 1, 1],
    ]);
    expect(holdsFrom(s, (x) => x.replicas === 1, 0)).toBe(2);
    expect(holdsFrom(s, (x) => x.replicas === 2, 0)).toBeNull();
    expect(holdsFrom(s, (x) => x.replicas === 2, 0, 1)).toBe(1);
    expect(scaleEvents(s)).toEqual([
      { t: 1, from: 1, to: 2 },
      { t: 2, from: 2, to: 1 },
    ]);
  });

  test("k6 CSV: only http_req_duration, by the header's columns", () => {
    const csv = [
      'metric_name,timestamp,metric_value,check,error',
      'http_reqs,1700000000,1.000000,,',
      'http_req_duration,1700000000,123.456000,,',
      'http_req_waiting,1700000000,120.000000,,',
      'http_req_duration,1700000001,41.500000,,',
      '',
    ].join('\n');
    expect(durationsFromK6Csv(csv)).toEqual([123.456, 41.5]);
    expect(durationsFromK6Csv('')).toEqual([]);
  });
});

describe('the capacity model of /slow (2 slots of 40 ms per replica), users dealt at random', () => {
  const load = (vus: number) => ({ vus, slots: 2, workMs: 40 });
  test.each([
    [2, 1, 1, 3], // one turn: 40 ms
    [4, 1, 1, 3], // two turns: 80 ms
    // three turns on one (120 ms); on two, 19 % of requests share with 4 or more (Binomial(5, 1/2)):
    // a p95 of 3 turns; on three, 4.5 % (Binomial(5, 1/3)): two turns for 95 % of requests
    [6, 1, 3, 3],
    [8, 1, 5, 9],
    [20, 1, 3, 3], // more than max can serve: max
    [6, 2, 3, 3], // never under minReplicas
  ])('%i VUs, minReplicas %i: at least %i replicas (max %i)', (vus, minReplicas, needed, max) => {
    expect(replicasNeeded(load(vus), { thresholdMs: 100, minReplicas, maxReplicas: max })).toBe(
      needed,
    );
  });
  test('latency per turn', () => {
    expect(modelLatencyMs(load(6), 1)).toBe(120);
    expect(modelLatencyMs(load(6), 3)).toBe(40);
  });
});

describe("the operator's decision, read from its status", () => {
  test('status.lastDecision first (the rewritten operator)', () => {
    expect(
      decisionOf({
        lastDecision: { reason: 'ScaledUp', message: 'p95 130 ms' },
        conditions: [{ type: 'InCooldown', status: 'True', reason: 'RecentlyScaled' }],
      }),
    ).toEqual({ reason: 'ScaledUp', message: 'p95 130 ms' });
  });
  test('else the conditions: no metric, then a limit, then the cooldown, else within target', () => {
    const c = (type: string, status: string, reason: string) => ({
      type,
      status,
      reason,
      message: reason.toLowerCase(),
    });
    expect(
      decisionOf({
        conditions: [
          c('MetricAvailable', 'False', 'NoData'),
          c('InCooldown', 'True', 'RecentlyScaled'),
        ],
      })?.reason,
    ).toBe('NoData');
    expect(
      decisionOf({
        conditions: [
          c('MetricAvailable', 'True', 'Sampled'),
          c('ScalingLimited', 'True', 'AtMaxReplicas'),
        ],
      })?.reason,
    ).toBe('AtMaxReplicas');
    expect(
      decisionOf({
        conditions: [
          c('MetricAvailable', 'True', 'Sampled'),
          c('ScalingLimited', 'False', 'WithinRange'),
          c('InCooldown', 'True', 'RecentlyScaled'),
        ],
      })?.reason,
    ).toBe('InCooldown');
    expect(
      decisionOf({
        conditions: [
          c('MetricAvailable', 'True', 'Sampled'),
          c('InCooldown', 'False', 'CooledDown'),
        ],
      }),
    ).toEqual({ reason: 'WithinTarget', message: 'sampled' });
    expect(decisionOf({})).toBeNull();
    expect(decisionOf(undefined)).toBeNull();
  });
  test('a List of the Deployment and the LatencyScaler becomes one line', () => {
    const seen = observe({
      items: [
        { kind: 'Deployment', spec: { replicas: 2 }, status: { readyReplicas: 1 } },
        {
          kind: 'LatencyScaler',
          spec: { thresholdMs: 100, minReplicas: 1, maxReplicas: 3 },
          status: {
            desiredReplicas: 3,
            lastDecision: { reason: 'ScaledUp', message: 'p95 131 ms > 100 ms: 2 -> 3 replicas' },
          },
        },
      ],
    });
    expect(seen).toMatchObject({
      replicas: 2,
      ready: 1,
      desired: 3,
      decision: 'ScaledUp',
      spec: { maxReplicas: 3 },
    });
    expect(timelineLine(65, seen, 131.4, 100, 'load')).toBe(
      ' 1:05  load    replicas 1/2 (desired 3)  p95   131 ms !  ScaledUp: p95 131 ms > 100 ms: 2 -> 3 replicas',
    );
    expect(
      timelineLine(
        -3,
        observe({ items: [{ kind: 'Deployment', spec: { replicas: 1 } }] }),
        null,
        100,
        'quiet',
      ),
    ).toBe('-0:03  quiet   replicas 0/1  p95   no data  -');
    expect(timelineLine(0, seen, 50, 100, 'load', 30)).toHaveLength(30);
  });
});

describe('./kit demo options and beats', () => {
  test('defaults, and every option', () => {
    expect(parseDemoArgs([])).toMatchObject({
      auto: false,
      port: 8080,
      out: 'out/demo',
      from: undefined,
      only: undefined,
      context: undefined,
    });
    expect(
      parseDemoArgs([
        '--auto',
        '--from',
        'operator',
        '--context',
        'kind-kind',
        '--port',
        '18089',
        '--app-url',
        'http://127.0.0.1:8081',
      ]),
    ).toMatchObject({
      auto: true,
      from: 'operator',
      context: 'kind-kind',
      port: 18089,
      appUrl: 'http://127.0.0.1:8081',
    });
    expect(parseDemoArgs(['--only', 'crash, stop']).only).toEqual(['crash', 'stop']);
  });
  test.each([
    [['--port', '0'], '--port 0 is not valid'],
    [['--app-url', '127.0.0.1:30080'], '--app-url 127.0.0.1:30080 is not valid'],
    [['--from', 'crash', '--only', 'stop'], 'do not go together'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])('%j is refused: %s', (argv, message) => {
    expect(() => parseDemoArgs(argv)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv)).toThrow(message);
  });
  test('--from starts at a beat, --only picks beats in story order, an unknown beat lists the beats', () => {
    expect(selectBeats(BEATS, {}).map((b) => b.id)).toEqual([
      'crash',
      'restarts',
      'logs',
      'stop',
      'scale-by-hand',
      'operator',
    ]);
    expect(selectBeats(BEATS, { from: 'scale-by-hand' }).map((b) => b.id)).toEqual([
      'scale-by-hand',
      'operator',
    ]);
    expect(selectBeats(BEATS, { only: ['stop', 'crash'] }).map((b) => b.id)).toEqual([
      'crash',
      'stop',
    ]);
    expect(() => selectBeats(BEATS, { from: 'nope' })).toThrow(
      'no beat "nope". Beats: crash, restarts, logs, stop, scale-by-hand, operator',
    );
  });
  test('each cluster beat deploys its own step first (so --from works), and the ids are unique', () => {
    expect(new Set(BEATS.map((b) => b.id)).size).toBe(BEATS.length);
    for (const beat of BEATS.filter((b) => b.cluster)) {
      const first = beat.steps[0];
      expect(
        first && 'sh' in first && typeof first.sh === 'function'
          ? first.sh({ port: 1, app: '', prometheus: '', on: '--cluster', out: '' })
          : '',
      ).toMatch(/^\.\/kit up 0\d --cluster$/);
    }
  });
  test('--context without --app-url refuses the beats that scale (a port-forward reaches one pod), before anything runs', () => {
    const all = selectBeats(BEATS, {});
    expect(() => checkReach(all, { context: 'mine' })).toThrow(
      '--context mine without --app-url: scale-by-hand and operator would load one pod',
    );
    expect(() => checkReach(selectBeats(BEATS, { from: 'operator' }), { context: 'mine' })).toThrow(
      UsageError,
    );
    expect(() =>
      checkReach(all, { context: 'mine', appUrl: 'http://127.0.0.1:8000' }),
    ).not.toThrow();
    expect(() =>
      checkReach(selectBeats(BEATS, { only: ['restarts', 'logs'] }), { context: 'mine' }),
    ).not.toThrow();
    expect(() => checkReach(all, {})).not.toThrow(); // the kit's cluster: its NodePort spreads the load
  });
  // What kubectl 1.3x prints (default columns), as the restarts and logs beats see it.
  const crashing = [
    'NAME                    READY   STATUS             RESTARTS      AGE',
    'hits-6d9c7b8f4d-x2k9p   0/1     CrashLoopBackOff   2 (4s ago)    71s',
  ].join('\n');
  const healthy = [
    'NAME                    READY   STATUS    RESTARTS   AGE',
    'hits-5f7b9c6d8-q8wz4    1/1     Running   0          40s',
  ].join('\n');
  test('the RESTARTS column: rising is at least N on the one app pod; healthy is 1/1 Running 0', () => {
    expect(podRows(crashing)).toEqual([
      { name: 'hits-6d9c7b8f4d-x2k9p', ready: '0/1', status: 'CrashLoopBackOff', restarts: 2 },
    ]);
    expect(restartedAtLeast(1)(crashing)).toBeUndefined();
    expect(restartedAtLeast(2)(crashing)).toBeUndefined();
    expect(restartedAtLeast(3)(crashing)).toBe('RESTARTS is 2, expected at least 3');
    expect(restartedAtLeast(1)(healthy)).toBe('RESTARTS is 0, expected at least 1');
    expect(
      restartedAtLeast(1)(`${crashing}\nhits-6d9c7b8f4d-abcde   1/1     Terminating   0   2m`),
    ).toBe('expected one app pod, got 2');
    expect(notRestarted(healthy)).toBeUndefined();
    expect(notRestarted(crashing)).toBe('expected one pod, 1/1 Running, 0 restarts');
    expect(notRestarted(healthy.replace('1/1', '0/1'))).toBe(
      'expected one pod, 1/1 Running, 0 restarts',
    );
    expect(notRestarted('No resources found in hits namespace.')).toBe(
      'expected one pod, 1/1 Running, 0 restarts',
    );
    expect(onlyStarting('starting hits...\n')).toBeUndefined();
    expect(onlyStarting('starting hits...\nhits 1.0.0 listening on port 8080\n')).toBe(
      'expected only "starting hits..."',
    );
  });
  test('bash time output', () => {
    expect(realSeconds('demo-app\n\nreal\t0m10.264s\nuser\t0m0.018s')).toBe(10.264);
    expect(realSeconds('real\t1m0.5s')).toBe(60.5);
    expect(realSeconds('nothing')).toBeUndefined();
  });
});

test('./kit demo --auto --only crash,stop: 1.0.0 dies with empty docker logs; docker stop 10 s, then under 1 s', async () => {
  const { stdout } = await execFileAsync(
    `${KIT_ROOT}/kit`,
    ['demo', '--auto', '--only', 'crash,stop', '--port', '18089'],
    { maxBuffer: 16 * 1024 * 1024 },
  );
  console.log(stdout);
  // Each beat's own checks passed (a failed one exits non-zero); the figures on screen:
  expect(stdout).toMatch(/^\s+1 000$/m);
  expect(stdout).toContain('TypeError: Cannot read properties of undefined');
  const stops = [...stdout.matchAll(/real\s+(\d+)m([\d.]+)s/g)].map(
    (m) => Number(m[1]) * 60 + Number(m[2]),
  );
  expect(stops).toHaveLength(2);
  expect(stops[0]).toBeGreaterThanOrEqual(9);
  expect(stops[1]).toBeLessThan(1);
  expect(stdout).toContain('Applause, bow.');
}, 180_000);
