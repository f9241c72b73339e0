/**
 * The controller (operator/src/controller.ts) against a stand-in API and a fake clock: what it
 * writes, and when it must not. Fencing: every write (status, scale, Event) is made only while
 * this replica holds the Lease and is inside its renew deadline, checked just before the write;
 * status writes carry the resourceVersion they were read at (a 409 is read again, not overwritten).
 * The leader election is the real LeaderElector (lease.ts), on an in-memory Lease and the same clock.
 * (It imports client-node: ./kit test installs the operator's dependencies in operator/node_modules.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CoordinationV1Api,
  KubeConfig,
} from '../operator/node_modules/@kubernetes/client-node/dist/index.js';
import { createController } from '../operator/src/controller.js';
import fc from 'fast-check';
import { type Metric, rfc3339 } from '../operator/src/decide.js';
import { timeoutOptions } from '../operator/src/kube.js';
import { LeaderElector, type Lease } from '../operator/src/lease.js';
import type { Logger } from '../operator/src/log.js';
import type { LatencyScaler, ScalerStatus } from '../operator/src/status.js';

const START = Date.parse('2026-11-22T12:00:00Z');
const RENEW_DEADLINE_S = 10;
const slow: Metric = { kind: 'value', ms: 300, rps: 100, inFlight: 30 }; // 1 replica at 300 ms wants 3

// The API's stand-ins are async like client-node's calls (a throw must reject, as theirs do);
// most need no await.
/* eslint-disable @typescript-eslint/require-await */
/** One LatencyScaler and its Deployment; an API that records every write and can take its time. */
function world({
  replicas = 1,
  status = {},
  spec = {},
}: { replicas?: number; status?: ScalerStatus; spec?: Partial<LatencyScaler['spec']> } = {}) {
  let clock = START;
  const lease: { current?: Lease; version: number } = { version: 0 };
  const leaseApi = {
    readNamespacedLease: async () => {
      if (!lease.current) throw Object.assign(new Error('not found'), { code: 404 });
      return structuredClone(lease.current);
    },
    createNamespacedLease: async ({ body }: { body: Lease }) =>
      (lease.current = {
        ...body,
        metadata: { ...body.metadata, resourceVersion: String(++lease.version) },
      }),
    replaceNamespacedLease: async ({ body }: { body: Lease }) =>
      (lease.current = {
        ...body,
        metadata: { ...body.metadata, resourceVersion: String(++lease.version) },
      }),
  };
  const elector = new LeaderElector(
    leaseApi,
    {
      namespace: 'hits',
      name: 'latency-operator',
      identity: 'a',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: RENEW_DEADLINE_S,
      retrySeconds: 2,
    },
    undefined,
    () => clock,
  );
  const scaler: LatencyScaler = {
    metadata: { name: 'hits', namespace: 'hits', uid: 'u1', generation: 1, resourceVersion: '100' },
    spec: {
      targetRef: { name: 'hits' },
      thresholdMs: 100,
      minReplicas: 1,
      maxReplicas: 5,
      cooldownSeconds: 45,
      scaleDownWindowSeconds: 60,
      ...spec,
    },
    status,
  };
  const deployment = {
    metadata: { name: 'hits', namespace: 'hits', resourceVersion: '7' },
    spec: { replicas },
    status: { readyReplicas: replicas },
  };
  const writes: Array<{ what: string; at: number; body: unknown }> = [];
  /** How long each kind of call takes (on the fake clock), or the error it fails with. */
  const api = {
    statusTakesMs: 0,
    scaleTakesMs: 0,
    metricTakesMs: 0,
    statusError: undefined as Error | undefined,
    /** What Prometheus says this tick, and how many times it was asked. */
    metric: slow,
    metricCalls: 0,
  };
  const logs: Array<{ obj: object; msg: string }> = [];
  const log = {
    info: () => undefined,
    warn: (obj: object, msg: string) => logs.push({ obj, msg }),
    error: () => undefined,
    debug: () => undefined,
  };
  const controller = createController({
    apps: {
      replaceNamespacedDeploymentScale: async ({
        body,
      }: {
        body: { spec: { replicas: number } };
      }) => {
        writes.push({ what: 'scale', at: clock, body });
        deployment.spec.replicas = body.spec.replicas; // what the Deployments' cache then shows
        clock += api.scaleTakesMs;
        return body;
      },
    } as never,
    core: {
      createNamespacedEvent: async ({ body }: { body: { reason: string } }) => {
        writes.push({ what: `event ${body.reason}`, at: clock, body });
        return body;
      },
    } as never,
    custom: {
      patchNamespacedCustomObjectStatus: async ({ body }: { body: unknown }) => {
        writes.push({ what: 'status', at: clock, body });
        clock += api.statusTakesMs; // a slow API server, or retries below the call
        if (api.statusError) throw api.statusError;
        return { ...scaler, metadata: { ...scaler.metadata, resourceVersion: '101' } };
      },
    } as never,
    cache: { get: () => scaler, list: () => [scaler] },
    deployments: { get: () => deployment as never, list: () => [deployment as never] },
    log: log as unknown as Logger,
    metricFor: async () => {
      clock += api.metricTakesMs;
      api.metricCalls++;
      return api.metric;
    },
    selfDeployment: 'latency-operator',
    callOptions: {},
    isLeader: () => elector.isLeader(),
    now: () => new Date(clock),
  });
  return {
    controller,
    elector,
    writes,
    api,
    logs,
    scaler,
    deployment,
    tick: (ms: number) => (clock += ms),
    now: () => clock,
  };
}

test('baseline: the leader, in time, writes the intent (status, with the resourceVersion read), then the scale, then the Event', async () => {
  const w = world();
  expect(await w.elector.tryOnce()).toBe(true);
  await w.controller.reconcile('hits/hits');
  expect(w.writes.map((x) => x.what)).toEqual(['status', 'scale', 'event ScaledUp']);
  expect(w.writes[0]!.body).toMatchObject({
    metadata: { resourceVersion: '100' },
    status: { desiredReplicas: 3 },
  });
  expect(w.writes[1]!.body).toMatchObject({ spec: { replicas: 3 } });
});

test('fencing: a reconcile that starts as the leader writes nothing once its renew deadline has passed', async () => {
  const w = world();
  await w.elector.tryOnce();
  w.api.metricTakesMs = RENEW_DEADLINE_S * 1000; // Prometheus answered, but only after the deadline
  await w.controller.reconcile('hits/hits');
  expect(w.writes).toEqual([]);
  expect(w.logs).toEqual([
    {
      obj: { scaler: 'hits/hits', skipped: 'status write' },
      msg: expect.stringContaining('write skipped'),
    },
  ]);
});

test('fencing: a status write that outlasts the deadline is not followed by the scale nor its Event', async () => {
  const w = world();
  await w.elector.tryOnce();
  w.tick(RENEW_DEADLINE_S * 1000 - 2000); // 2 s left
  w.api.statusTakesMs = 3000; // e.g. a retry of the patch
  await w.controller.reconcile('hits/hits');
  expect(w.writes.map((x) => x.what)).toEqual(['status']); // the intent is in status: the next leader completes it
  expect(w.logs.map((l) => l.obj)).toEqual([{ scaler: 'hits/hits', skipped: 'scale write' }]);
});

test('fencing: a scale that outlasts the deadline is not followed by its Event (and the Event is not retried after it)', async () => {
  const w = world();
  await w.elector.tryOnce();
  w.api.scaleTakesMs = RENEW_DEADLINE_S * 1000;
  await w.controller.reconcile('hits/hits');
  expect(w.writes.map((x) => x.what)).toEqual(['status', 'scale']);
  expect(w.logs.map((l) => l.obj)).toEqual([{ scaler: 'hits/hits', skipped: 'Event ScaledUp' }]);
});

test('fencing: every write of a run happens inside the renew deadline of the last renewal, whatever the delays', async () => {
  // Many reconciles with the Lease renewed every 2 s until a moment, then not: no write at or
  // after renewal + deadline, and writes do happen before it.
  for (const stopRenewingAfterMs of [0, 3000, 7000, 9500]) {
    for (const delay of [0, 1500, 4000]) {
      const w = world();
      let lastRenew = w.now();
      await w.elector.tryOnce();
      const stopAt = w.now() + stopRenewingAfterMs;
      w.api.statusTakesMs = delay;
      w.api.scaleTakesMs = delay;
      for (let i = 0; i < 8; i++) {
        if (w.now() <= stopAt && w.now() - lastRenew >= 2000) {
          await w.elector.tryOnce();
          lastRenew = w.now();
        }
        await w.controller.reconcile('hits/hits');
        for (const write of w.writes)
          expect(write.at - lastRenew).toBeLessThan(RENEW_DEADLINE_S * 1000);
        w.tick(2000);
      }
      expect(w.writes.length).toBeGreaterThan(0); // not vacuous: the first reconcile is in time
    }
  }
});

test('a status write carries the resourceVersion read; a 409 (a new leader wrote first) stops the reconcile: no scale, no Event, read again next time', async () => {
  const w = world();
  await w.elector.tryOnce();
  w.api.statusError = Object.assign(new Error('HTTP-Code: 409'), {
    code: 409,
    body: JSON.stringify({ message: 'the object has been modified' }),
  });
  await expect(w.controller.reconcile('hits/hits')).resolves.toBeUndefined(); // not a failure to retry at once
  expect(w.writes.map((x) => x.what)).toEqual(['status']);
  expect(w.writes[0]!.body).toMatchObject({ metadata: { resourceVersion: '100' } });
  // Next tick: the cache shows the other leader's status (rv 105); that is what is decided from and written against.
  w.api.statusError = undefined;
  w.scaler.metadata.resourceVersion = '105';
  w.scaler.status = {
    desiredReplicas: 3,
    currentReplicas: 1,
    lastScaleTime: new Date(w.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
    scaledFromReplicas: 1,
    lastDecision: {
      reason: 'ScaledUp',
      message: 'p95 300 ms > 100 ms: 1 -> 3 replicas',
      time: new Date(w.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
    },
  };
  w.tick(1000);
  await w.elector.tryOnce();
  await w.controller.reconcile('hits/hits');
  // The other leader's intent, in its cooldown: completed, not decided again.
  expect(w.writes.slice(1).map((x) => x.what)).toEqual(['scale', 'event ScaledUp']);
  expect(w.writes[1]!.body).toMatchObject({ spec: { replicas: 3 } });
});

test('after our own write, the next status write carries the resourceVersion it returned, while the cache lags', async () => {
  const w = world();
  await w.elector.tryOnce();
  await w.controller.reconcile('hits/hits');
  w.tick(5000);
  await w.elector.tryOnce();
  await w.controller.reconcile('hits/hits'); // the cache still shows rv 100 and no status
  const statuses = w.writes.filter((x) => x.what === 'status');
  expect(
    statuses.map(
      (x) => (x.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion,
    ),
  ).toEqual(['100', '101']);
});

test('every Kubernetes call has a deadline: against an API server that never answers, the call fails after its timeout', async () => {
  // A server that takes the request and never answers (a hung API server, a dead connection).
  const hung: Server = createServer(() => undefined);
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  try {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: 'hung',
          server: `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
          skipTLSVerify: true,
        },
      ],
      users: [{ name: 'nobody' }],
      contexts: [{ name: 'hung', cluster: 'hung', user: 'nobody' }],
      currentContext: 'hung',
    });
    const start = Date.now();
    const call = kc
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: 'latency-operator', namespace: 'hits' }, timeoutOptions(300));
    await expect(call).rejects.toMatchObject({ name: 'AbortError' }); // client-node's fetch reports the signal's abort so
    expect(Date.now() - start).toBeLessThan(2000);
  } finally {
    hung.closeAllConnections();
    hung.close();
  }
});

// Issue 21, "3. Every safety claim proven by a test": the intent path, dryRun, a manual scale,
// restart safety and growth within one cooldown, on the same stand-in API and fake clock.
const KEY = 'hits/hits';
const at = (ms: number) => rfc3339(new Date(ms));
const scaleWrites = (w: ReturnType<typeof world>) =>
  w.writes
    .filter((x) => x.what === 'scale')
    .map((x) => ({ at: x.at, to: (x.body as { spec: { replicas: number } }).spec.replicas }));
/** One tick of the leader: renew the Lease, reconcile. */
async function tickOnce(w: ReturnType<typeof world>) {
  await w.elector.tryOnce();
  await w.controller.reconcile(KEY);
}
/** Ticks every 5 s (the clock first) until K scales are written, for at most SECONDS. */
async function tickUntilScales(w: ReturnType<typeof world>, k: number, seconds = 120) {
  for (let t = 5; t <= seconds && scaleWrites(w).length < k; t += 5) {
    w.tick(5000);
    await tickOnce(w);
  }
}
/** The status of the operator's own scale FROM -> TO, written AGO ms before START. */
const recordedScale = (from: number, to: number, ago: number, message: string): ScalerStatus => ({
  currentReplicas: from,
  desiredReplicas: to,
  scaledFromReplicas: from,
  lastScaleTime: at(START - ago),
  lastDecision: { reason: to > from ? 'ScaledUp' : 'ScaledDown', message, time: at(START - ago) },
});

test('the intent path: a scale recorded in status, in its cooldown, that the Deployment does not show yet (a crash between the status write and the scale) is completed: that scale only, no new decision, one Event', async () => {
  const w = world({
    replicas: 1,
    status: recordedScale(1, 3, 10_000, 'p95 300 ms > 100 ms: 1 -> 3 replicas'),
  });
  w.api.metric = { kind: 'value', ms: 2000, rps: 100, inFlight: 200 }; // a new decision would ask for 5 (max)
  await tickOnce(w);
  expect(w.writes.map((x) => x.what)).toEqual(['scale', 'event ScaledUp']);
  expect(w.writes[0]!.body).toMatchObject({ spec: { replicas: 3 } });
  expect(w.writes[1]!.body).toMatchObject({
    message: 'hits: p95 300 ms > 100 ms: 1 -> 3 replicas',
  });
  expect(w.api.metricCalls).toBe(0); // nothing decided: Prometheus not even asked
  // The next tick: the scale shows the intent; in its cooldown nothing more is scaled nor said.
  w.deployment.status.readyReplicas = 3;
  w.api.metric = slow;
  w.tick(5000);
  await tickOnce(w);
  expect(w.writes.slice(2).map((x) => x.what)).toEqual(['status']);
  expect(w.writes[2]!.body).toMatchObject({
    status: { desiredReplicas: 3, lastDecision: { reason: 'InCooldown' } },
  });
});

// The dry run records its decision as desiredReplicas with a scaling reason, and keeps the
// lastScaleTime of the real scale before it; once dryRun is off, the intent path took that record
// for an intent and wrote the scale the dry run had only reported (fixed: an intent is completed
// only while the scale shows the replicas it counted from).
test('dryRun switched off inside a cooldown: nothing the dry run recorded is executed', async () => {
  // A real scale 1 -> 2, 10 s ago; then dryRun is switched on.
  const w = world({
    replicas: 2,
    spec: { dryRun: true },
    status: {
      ...recordedScale(1, 2, 10_000, 'p95 200 ms > 100 ms: 1 -> 2 replicas'),
      readyTime: at(START - 5000),
    },
  });
  await tickOnce(w); // p95 300 ms, still of 1 replica: the dry run would catch up to 3
  expect(w.writes.map((x) => x.what)).toEqual(['event WouldScale', 'status']);
  expect(w.writes[1]!.body).toMatchObject({ status: { desiredReplicas: 3 } });
  // dryRun off 5 s later, inside the cooldown, with p95 back under the threshold: hold at 2.
  w.scaler.spec.dryRun = false;
  w.api.metric = { kind: 'value', ms: 60, rps: 100, inFlight: 6 };
  w.tick(5000);
  await tickOnce(w);
  expect(scaleWrites(w)).toEqual([]);
  expect(w.deployment.spec.replicas).toBe(2);
});

// The status still holds the intent of the operator's own scale, in its cooldown: the intent
// path put the scale back to it (fixed: a kubectl scale since is someone's decision, kept).
test("a manual kubectl scale in the first tick after the operator's scale is kept, not undone by the intent path", async () => {
  const w = world({ replicas: 1 });
  await tickOnce(w); // 1 -> 3
  expect(scaleWrites(w)).toEqual([{ at: START, to: 3 }]);
  // Someone runs kubectl scale --replicas=4 a second later; the pods get ready.
  w.deployment.spec.replicas = 4;
  w.deployment.status.readyReplicas = 4;
  w.deployment.metadata.resourceVersion = '8';
  w.tick(5000);
  await tickOnce(w); // p95 still of 1 replica asks for 3 < 4: the decision itself holds
  expect(scaleWrites(w)).toEqual([{ at: START, to: 3 }]);
  expect(w.deployment.spec.replicas).toBe(4);
});

/**
 * A new leader (a new controller, its own LeaderElector) takes over a LatencyScaler whose status
 * the old one wrote; it ticks every second from START. Returns its first scale: when and to what.
 */
async function firstStepOfNewLeader(replicas: number, status: ScalerStatus, metric: Metric) {
  const w = world({ replicas, status });
  w.api.metric = metric;
  for (let s = 0; s <= 120; s++) {
    await tickOnce(w);
    const [first] = scaleWrites(w);
    if (first) return { afterS: (first.at - START) / 1000, to: first.to };
    w.tick(1000);
  }
  return undefined;
}

test('restart safety: a leader killed 5 s after a scale-up; the new leader makes no step until that cooldown ends, and the proof fails without lastScaleTime in status', async () => {
  // The old leader scaled 1 -> 3 at START - 5 s; its pods were ready at START - 2 s: the cooldown
  // (45 s) counts from then, and ends at START + 43 s. p95 300 ms is still of 1 replica (3 is
  // enough); on 3 replicas it would ask for 5 (max).
  const old: ScalerStatus = {
    ...recordedScale(1, 3, 5000, 'p95 300 ms > 100 ms: 1 -> 3 replicas'),
    readyTime: at(START - 2000),
    recommendations: [
      { time: at(START - 65_000), replicas: 1 },
      { time: at(START - 5000), replicas: 3 },
    ],
  };
  expect(await firstStepOfNewLeader(3, old, slow)).toEqual({ afterS: 43, to: 5 });
  // The same takeover with lastScaleTime dropped from status: a step at once, inside the cooldown.
  const { lastScaleTime: _dropped, ...withoutLastScaleTime } = old;
  expect(await firstStepOfNewLeader(3, withoutLastScaleTime, slow)).toEqual({ afterS: 0, to: 5 });
});

test('restart safety: a leader killed 5 s after a scale-down; the new leader steps again only when that cooldown ends, on the window it inherited, and the proof fails without lastScaleTime or the window in status', async () => {
  // The old leader scaled 4 -> 3 at START - 5 s, its window having asked for 2 for 100 s. p95
  // 50 ms on 3 replicas still asks for 2: the next step, 3 -> 2, once the cooldown (45 s from
  // START - 5 s) ends, at START + 40 s, since the inherited window is whole.
  const old: ScalerStatus = {
    ...recordedScale(4, 3, 5000, 'p95 60 ms, 60 s at most 2: 4 -> 3 replicas'),
    readyTime: at(START - 5000),
    recommendations: [{ time: at(START - 100_000), replicas: 2 }],
  };
  const fast: Metric = { kind: 'value', ms: 50, rps: 100, inFlight: 5 };
  expect(await firstStepOfNewLeader(3, old, fast)).toEqual({ afterS: 40, to: 2 });
  // lastScaleTime dropped: a step at once, inside the cooldown.
  const { lastScaleTime: _t, ...withoutLastScaleTime } = old;
  expect(await firstStepOfNewLeader(3, withoutLastScaleTime, fast)).toEqual({ afterS: 0, to: 2 });
  // The window dropped: the new leader has no whole window until 60 s of its own, a later step
  // (never an earlier one: a window not observed whole holds, decide.ts maxOverWindow).
  const { recommendations: _r, ...withoutWindow } = old;
  expect(await firstStepOfNewLeader(3, withoutWindow, fast)).toEqual({ afterS: 60, to: 2 });
});

test('a pod stuck Pending (never ready) does not stop scaling up: the cooldown counts from the write, and the next step comes when it ends', async () => {
  const w = world({ replicas: 1 });
  await tickOnce(w); // p95 300 ms on 1 replica: 1 -> 3
  expect(scaleWrites(w)).toEqual([{ at: START, to: 3 }]);
  // The 2 new pods never get ready (readyReplicas stays 1), and the p95 stays at 200 ms: in the
  // cooldown that asks nothing of the 1 replica it was measured on (2 < 3); after it, 3 x 2 = 6,
  // max 5.
  w.api.metric = { kind: 'value', ms: 200, rps: 100, inFlight: 20 };
  await tickUntilScales(w, 2);
  expect(w.deployment.status.readyReplicas).toBe(1);
  expect(scaleWrites(w)[1]).toEqual({ at: START + 45_000, to: 5 });
});

test('a pod stuck unready does not stop scaling down: one replica less once the window allows it and the cooldown from the write has ended', async () => {
  // 2 -> 3 ten seconds ago; the new pod never got ready. No traffic since.
  const w = world({
    replicas: 3,
    status: recordedScale(2, 3, 10_000, 'p95 150 ms > 100 ms: 2 -> 3 replicas'),
  });
  w.deployment.status.readyReplicas = 2;
  w.api.metric = { kind: 'no-traffic' };
  await tickOnce(w);
  await tickUntilScales(w, 1);
  // The window (60 s of "1 is enough") is observed whole at START + 60 s; the cooldown ended at
  // START + 35 s.
  expect(scaleWrites(w)).toEqual([{ at: START + 60_000, to: 2 }]);
});

// "The catch-up escapes the x2/+4 cap within one cooldown" (1 -> 5 -> 10 -> 20 in 10 s with max
// 20 and a p95 of 2 s, the last version): over any sequence of 5 s ticks, every scale written less
// than cooldownSeconds after a scale from R replicas stays within max(2R, R + 4).
test('growth within one cooldown is bounded by the x2/+4 cap, over sequences of ticks', async () => {
  const tick = fc.record({
    ms: fc.integer({ min: 20, max: 3000 }),
    rps: fc.integer({ min: 0, max: 200 }),
    ready: fc.boolean(), // whether the pods of the replicas asked for are all ready by this tick
  });
  const claim2 = Array.from({ length: 6 }, () => ({ ms: 2000, rps: 100, ready: true }));
  await fc.assert(
    fc.asyncProperty(fc.array(tick, { minLength: 1, maxLength: 40 }), async (ticks) => {
      const w = world({ replicas: 1, spec: { maxReplicas: 20 } });
      const scales: Array<{ at: number; from: number; to: number }> = [];
      for (const t of ticks) {
        w.api.metric = { kind: 'value', ms: t.ms, rps: t.rps, inFlight: (t.rps * t.ms) / 1000 };
        if (t.ready) w.deployment.status.readyReplicas = w.deployment.spec.replicas;
        const from = w.deployment.spec.replicas;
        const before = scaleWrites(w).length;
        await tickOnce(w);
        for (const s of scaleWrites(w).slice(before)) scales.push({ at: s.at, from, to: s.to });
        w.tick(5000);
      }
      for (const [i, s] of scales.entries())
        for (const later of scales.slice(i + 1))
          if (later.at - s.at < 45_000)
            expect(later.to).toBeLessThanOrEqual(Math.max(2 * s.from, s.from + 4));
    }),
    { examples: [[claim2]], numRuns: 200 },
  );
});
