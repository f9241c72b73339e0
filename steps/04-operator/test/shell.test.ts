/**
 * The operator's shell, its pure parts: the one batched Prometheus query and how its answer is
 * read, liveness that follows the worker, the work queue, leader election's rules (against an
 * in-memory Lease store), and how an Event's create is tried again (against a stand-in create).
 * The real API server and the real Prometheus: operator.cluster.test.ts.
 */
import { createEvent, EVENT_TRIES } from '../operator/src/events.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  batchQuery,
  metricsFrom,
  MetricsSnapshot,
  P95,
  queryMetrics,
  RATE,
  IN_FLIGHT,
} from '../operator/src/prometheus.js';
import { Health } from '../operator/src/health.js';
import { LeaderElector, type Lease } from '../operator/src/lease.js';
import { WorkQueue } from '../operator/src/queue.js';
import { setTimeout as sleep } from 'node:timers/promises';

test('Prometheus: one query for every target, names escaped; rate 0 is "no traffic", no rate is "no series"', () => {
  expect(batchQuery('hits', ['hits', 'a.b'])).toBe(
    '{__name__=~"app:request_latency_seconds:p95_10s|app:requests:rate_10s|app:requests_in_flight:avg_10s|app:requests_in_flight:avg_4s",namespace="hits",app=~"a\\\\.b|hits"}',
  );
  const series = (name: string, app: string, value: string) => ({
    metric: { __name__: name, app },
    value: [0, value] as [number, string],
  });
  const metrics = metricsFrom(
    [
      series(RATE, 'busy', '42'),
      series(P95, 'busy', '0.12'),
      series(IN_FLIGHT, 'busy', '5.04'),
      series(RATE, 'idle', '0'),
    ],
    ['busy', 'idle', 'typo'],
  );
  expect(metrics.get('busy')).toEqual({ kind: 'value', ms: 120, rps: 42, inFlight: 5.04 });
  expect(metrics.get('idle')).toEqual({ kind: 'no-traffic' });
  expect(metrics.get('typo')).toMatchObject({ kind: 'no-series' });
  // Whole milliseconds, the number status and Events show: 100.4 ms is 100, not over 100.
  expect(
    metricsFrom(
      [series(RATE, 'edge', '42'), series(P95, 'edge', '0.1004'), series(IN_FLIGHT, 'edge', '4.2')],
      ['edge'],
    ).get('edge'),
  ).toEqual({ kind: 'value', ms: 100, rps: 42, inFlight: 4.2 });
});

test('one Prometheus query per tick, for 1,000 LatencyScalers reconciled each tick; between ticks, a new target alone asks again', async () => {
  let clock = 0;
  const targets = Array.from({ length: 1000 }, (_, i) => `app-${i}`);
  const queries: string[][] = [];
  const snapshot = new MetricsSnapshot(
    (asked) => {
      queries.push(asked);
      return Promise.resolve(
        new Map(asked.map((t) => [t, { kind: 'value', ms: 80, rps: 20, inFlight: 1.6 }])),
      );
    },
    () => targets,
    7500,
    () => clock,
  );
  for (let tick = 0; tick < 10; tick++, clock += 5000) {
    await snapshot.refresh(); // the resync tick
    for (const target of targets)
      expect(await snapshot.metricFor(target)).toEqual({
        kind: 'value',
        ms: 80,
        rps: 20,
        inFlight: 1.6,
      }); // every reconcile
  }
  expect(queries.map((q) => q.length)).toEqual(Array(10).fill(1000));
  targets.push('new'); // added between two ticks: its reconcile asks once, the others reuse that answer
  await snapshot.metricFor('new');
  await snapshot.metricFor('app-1');
  expect(queries).toHaveLength(11);
  clock += 7501; // no tick for a tick and a half (a stalled tick): a reconcile asks again
  await snapshot.metricFor('app-1');
  expect(queries).toHaveLength(12);
});

test('a Prometheus that never answers: the query gives up after its timeout, and every target is "unavailable" (hold)', async () => {
  const hung = createServer(() => undefined);
  await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  try {
    const start = Date.now();
    const metrics = await queryMetrics(
      `http://127.0.0.1:${(hung.address() as AddressInfo).port}`,
      'hits',
      ['hits', 'other'],
      300,
    );
    expect(Date.now() - start).toBeLessThan(2000);
    expect([...metrics.values()]).toEqual(
      [0, 1].map(() => ({ kind: 'unavailable', error: expect.stringContaining('TimeoutError') })),
    );
  } finally {
    hung.closeAllConnections();
    hung.close();
  }
});

test('liveness follows the worker: a reconcile stuck past its bound fails it, a stalled tick too', async () => {
  let clock = 0;
  const health = new Health(16_000, 60_000, () => clock);
  let finish!: () => void;
  const stuck = health.track('hits/hits', () => new Promise<void>((resolve) => (finish = resolve)));
  clock = 59_000;
  health.tick();
  expect(health.check().ok).toBe(true);
  clock = 61_000;
  health.tick();
  expect(health.check()).toEqual({ ok: false, reason: 'reconcile of hits/hits stuck for 61 s' });
  finish();
  await stuck;
  expect(health.check().ok).toBe(true);
  clock = 78_000;
  expect(health.check()).toEqual({ ok: false, reason: 'resync tick stalled for 17 s' });
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
    await sleep(5);
    running--;
  });
  queue.add('hits/a');
  queue.add('hits/a');
  queue.add('hits/b');
  await sleep(50);
  queue.close();
  await done;
  expect(runs).toEqual(['hits/a', 'hits/b', 'hits/a']);
  expect(peak).toBe(1);
});

// ---- Leader election's rules, against an in-memory Lease store that checks resourceVersions like
// the API server (a conflict is a 409). The real API server is in operator.cluster.test.ts.
// (Stand-ins for client-node's async calls: a throw must reject, as theirs do; no await needed.)
/* eslint-disable @typescript-eslint/require-await */
class LeaseStore {
  lease: Lease | undefined;
  private version = 0;
  readNamespacedLease = async () => {
    if (!this.lease) throw Object.assign(new Error('not found'), { code: 404 });
    return structuredClone(this.lease);
  };
  createNamespacedLease = async ({ body }: { body: Lease }) => {
    if (this.lease) throw Object.assign(new Error('exists'), { code: 409 });
    this.lease = {
      ...structuredClone(body),
      metadata: { ...body.metadata, resourceVersion: String(++this.version) },
    };
    return this.lease;
  };
  replaceNamespacedLease = async ({ body }: { body: Lease }) => {
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
      throw Object.assign(new Error('conflict'), { code: 409 });
    this.lease = {
      ...(JSON.parse(JSON.stringify(body)) as Lease),
      metadata: { ...body.metadata, resourceVersion: String(++this.version) },
    };
    return this.lease;
  };
}
/* eslint-enable @typescript-eslint/require-await */

test('leader election: one leader; the other takes over only after the lease duration on its own clock, or at once when released', async () => {
  const store = new LeaseStore();
  let clock = 0;
  const settings = {
    namespace: 'hits',
    name: 'latency-operator',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retrySeconds: 2,
  };
  const a = new LeaderElector(store, { ...settings, identity: 'a' }, undefined, () => clock);
  const b = new LeaderElector(store, { ...settings, identity: 'b' }, undefined, () => clock);
  expect(await a.tryOnce()).toBe(true);
  expect(await b.tryOnce()).toBe(false);
  for (clock = 2000; clock <= 30_000; clock += 2000) {
    expect(await a.tryOnce()).toBe(true); // renewing
    expect(await b.tryOnce()).toBe(false); // the record keeps changing: never expired
  }
  // a stops renewing (crashed): after its renew deadline it no longer acts, and only after the
  // lease duration since b last saw the record change does b take over.
  const lastRenew = clock - 2000;
  for (; clock < lastRenew + 15_000; clock += 1000) expect(await b.tryOnce()).toBe(false);
  expect(a.isLeader()).toBe(false);
  clock = lastRenew + 15_000;
  expect(await b.tryOnce()).toBe(true);
  expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  expect(await a.tryOnce()).toBe(false); // back, and sees b's renewed record
  // b stops cleanly: it releases the Lease, and a takes it at its next try.
  await b.stop();
  expect(store.lease?.spec?.holderIdentity).toBeUndefined();
  expect(await a.tryOnce()).toBe(true);
});

test('a Lease error (403) is logged once, with its code and message, and makes the replica unready until the Lease answers again', async () => {
  // Both replicas forbidden, as with a Role that lost its lease rules: neither leads, and before
  // this the only sign was two idle replicas with /healthz green.
  const store = new LeaseStore();
  let forbidden = true;
  const api = {
    readNamespacedLease: async () => {
      if (forbidden) {
        // client-node's ApiException: code, the API server's Status in the body, headers in the message
        throw Object.assign(
          new Error(
            `HTTP-Code: 403\nMessage: Unknown API Status Code!\nHeaders: {"audit-id":"${Math.random()}"}`,
          ),
          {
            code: 403,
            body: JSON.stringify({
              kind: 'Status',
              status: 'Failure',
              reason: 'Forbidden',
              code: 403,
              message:
                'leases.coordination.k8s.io "latency-operator" is forbidden: User "system:serviceaccount:hits:latency-operator" cannot get resource "leases"',
            }),
          },
        );
      }
      return store.readNamespacedLease();
    },
    createNamespacedLease: store.createNamespacedLease,
    replaceNamespacedLease: store.replaceNamespacedLease,
  };
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = (who: string) => ({
    warn: (obj: object, msg: string) => logs.push({ level: 'warn', obj: { who, ...obj }, msg }),
    info: (obj: object, msg: string) => logs.push({ level: 'info', obj: { who, ...obj }, msg }),
  });
  let clock = 0;
  const settings = {
    namespace: 'hits',
    name: 'latency-operator',
    leaseDurationSeconds: 15,
    renewDeadlineSeconds: 10,
    retrySeconds: 2,
  };
  const a = new LeaderElector(
    api,
    { ...settings, identity: 'a' },
    undefined,
    () => clock,
    logger('a'),
  );
  const b = new LeaderElector(
    api,
    { ...settings, identity: 'b' },
    undefined,
    () => clock,
    logger('b'),
  );
  expect(a.readiness().ok).toBe(false); // nothing read yet
  for (; clock <= 60_000; clock += 2000) {
    expect(await a.tryOnce()).toBe(false);
    expect(await b.tryOnce()).toBe(false);
  }
  expect(a.readiness()).toEqual({
    ok: false,
    reason: expect.stringContaining(
      '403 leases.coordination.k8s.io "latency-operator" is forbidden',
    ),
  });
  expect(b.readiness().ok).toBe(false);
  // 31 tries each, one line each: the first error, with its code and the API server's message.
  expect(logs).toEqual(
    ['a', 'b'].map((who) => ({
      level: 'warn',
      msg: expect.stringContaining('cannot read or renew the Lease'),
      obj: {
        who,
        lease: 'latency-operator',
        code: 403,
        message: expect.stringContaining('cannot get resource "leases"'),
      },
    })),
  );
  // The Role is fixed: one leads, both are ready again, and each says so once.
  forbidden = false;
  expect(await a.tryOnce()).toBe(true);
  expect(await b.tryOnce()).toBe(false); // another holder: not a fault
  expect([a.readiness(), b.readiness()]).toEqual([
    { ok: true, reason: 'ok' },
    { ok: true, reason: 'ok' },
  ]);
  for (clock += 2000; clock < 70_000; clock += 2000) await Promise.all([a.tryOnce(), b.tryOnce()]);
  expect(logs.slice(2).map((l) => [l.level, (l.obj as { who: string }).who, l.msg])).toEqual([
    ['info', 'a', 'the Lease answers again: ready'],
    ['info', 'b', 'the Lease answers again: ready'],
  ]);
  // A lost race (409) is another holder, not a fault: still ready, nothing logged.
  const racing = new LeaderElector(
    {
      ...api,
      replaceNamespacedLease: () =>
        Promise.reject(Object.assign(new Error('conflict'), { code: 409 })),
    },
    { ...settings, identity: 'c' },
    undefined,
    () => clock + 60_000,
    logger('c'),
  );
  expect(await racing.tryOnce()).toBe(false);
  expect(racing.readiness().ok).toBe(true);
  expect(logs).toHaveLength(4);
  // A timeout is a fault too, named as such.
  const slow = new LeaderElector(
    {
      ...api,
      readNamespacedLease: () =>
        Promise.reject(
          new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
        ),
    },
    { ...settings, identity: 'd' },
    undefined,
    () => clock,
    logger('d'),
  );
  await slow.tryOnce();
  expect(slow.readiness()).toEqual({
    ok: false,
    reason: 'the Lease: TimeoutError The operation was aborted due to timeout',
  });
});

test("an Event's create is tried again after a timeout, never recorded twice, and given up when refused", async () => {
  const apiError = (code: number) => Object.assign(new Error(`HTTP ${code}`), { code }); // client-node's ApiException's shape
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  /** A stand-in create that fails with ERRORS in turn, then succeeds; counts its calls. */
  const creates = (...errors: unknown[]) => {
    let calls = 0;
    // eslint-disable-next-line @typescript-eslint/require-await -- a stand-in for an async call: a throw must reject
    const create = async () => {
      calls++;
      if (errors.length > 0) throw errors.shift();
    };
    return { create, calls: () => calls };
  };
  const timedOut = creates(timeout); // the API server was slow once
  expect(await createEvent(timedOut.create, EVENT_TRIES, 0)).toBeUndefined();
  expect(timedOut.calls()).toBe(2);
  const gotThrough = creates(timeout, apiError(409)); // the first try was stored, only its answer was lost
  expect(await createEvent(gotThrough.create, EVENT_TRIES, 0)).toBeUndefined();
  expect(gotThrough.calls()).toBe(2);
  const refused = creates(apiError(403)); // RBAC says no: trying again cannot help
  expect(await createEvent(refused.create, EVENT_TRIES, 0)).toMatchObject({ code: 403 });
  expect(refused.calls()).toBe(1);
  const throttled = creates(apiError(429), apiError(500), apiError(503), apiError(503));
  expect(await createEvent(throttled.create, EVENT_TRIES, 0)).toMatchObject({ code: 503 });
  expect(throttled.calls()).toBe(EVENT_TRIES); // then given up: an Event never blocks a reconcile for long
  const taken = creates(apiError(409)); // the name is taken before any try of ours: not ours, say so
  expect(await createEvent(taken.create, EVENT_TRIES, 0)).toMatchObject({ code: 409 });
});
