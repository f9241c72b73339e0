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
import type { Metric } from '../operator/src/decide.js';
import { timeoutOptions } from '../operator/src/kube.js';
import { LeaderElector, type Lease } from '../operator/src/lease.js';
import type { Logger } from '../operator/src/log.js';
import type { LatencyScaler } from '../operator/src/status.js';

const START = Date.parse('2026-11-22T12:00:00Z');
const RENEW_DEADLINE_S = 10;
const slow: Metric = { kind: 'value', ms: 300, rps: 100 }; // 1 replica at 300 ms wants 3

// The API's stand-ins are async like client-node's calls (a throw must reject, as theirs do);
// most need no await.
/* eslint-disable @typescript-eslint/require-await */
/** One LatencyScaler and its Deployment; an API that records every write and can take its time. */
function world({ replicas = 1, status = {} } = {}) {
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
      return slow;
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
