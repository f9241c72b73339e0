/**
 * The operator process: an informer (list + watch) on the LatencyScalers of one namespace feeds
 * the work queue, another keeps its Deployments (read, never a GET per reconcile; both restart
 * themselves, watch.ts); a resync tick asks Prometheus once for all of them and re-queues every
 * one, because latency changes make no Kubernetes events; one worker reconciles, and only on the
 * replica that holds the Lease (lease.ts), and every write checks that it still does (fence.ts).
 * /healthz follows the worker (health.ts), /readyz the Lease (a replica that cannot read it is
 * unready), /metrics on PORT; SIGTERM releases the Lease and stops cleanly.
 */
import { createServer } from 'node:http';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesListObject,
  type V1Deployment,
  type V1Lease,
} from '@kubernetes/client-node';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { readConfig, type Config } from './config.js';
import { createController } from './controller.js';
import { Health } from './health.js';
import { errorText, timeoutOptions } from './kube.js';
import { LeaderElector, type LeaseApi, leaseTimings } from './lease.js';
import { createLogger } from './log.js';
import { MetricsSnapshot, queryMetrics } from './prometheus.js';
import { WorkQueue } from './queue.js';
import { GROUP, type LatencyScaler, PLURAL, VERSION } from './status.js';
import { watched } from './watch.js';

const log = createLogger();

process.on('uncaughtException', (err) => {
  log.fatal({ err }, 'crashed: uncaught exception');
  process.exit(1);
});

let config: Config;
try {
  config = readConfig();
} catch (err) {
  log.fatal({ err }, 'invalid configuration');
  process.exit(1);
}

// In a pod: the ServiceAccount's token. On a laptop: ~/.kube/config (KUBECONFIG), for trying it
// out.
const kc = new KubeConfig();
if (process.env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
else kc.loadFromDefault();

const { namespace } = config;
const custom = kc.makeApiClient(CustomObjectsApi);
const registry = new Registry();
collectDefaultMetrics({ register: registry });

const callOptions = timeoutOptions(config.apiTimeoutMs);
const apps = kc.makeApiClient(AppsV1Api);
let stopping = false;

const watching = { kc, log, rewatchSeconds: config.rewatchSeconds };
const scalers = watched<LatencyScaler>(
  watching,
  'LatencyScalers',
  `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
  async () =>
    (await custom.listNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace, plural: PLURAL },
      callOptions,
    )) as KubernetesListObject<LatencyScaler>,
);
const informer = scalers.informer;
// The targets' replicas and readiness, read from a cache: two GETs per reconcile were 2,000 per
// tick at 1,000 LatencyScalers, one at a time. No handlers: the resync tick reads it.
const deployments = watched<V1Deployment>(
  watching,
  'Deployments',
  `/apis/apps/v1/namespaces/${namespace}/deployments`,
  () => apps.listNamespacedDeployment({ namespace }, callOptions),
);

// ONE Prometheus query per tick for every LatencyScaler of the namespace; a reconcile between two
// ticks (a spec change) uses the last answer while it is about a tick old at most.
const snapshot = new MetricsSnapshot(
  (targets) => queryMetrics(config.prometheusUrl, namespace, targets),
  () => informer.list(namespace).map((scaler) => scaler.spec.targetRef.name),
  config.resyncSeconds * 1500,
);
const refreshMetrics = () => snapshot.refresh();
const metricFor = (target: string) => snapshot.metricFor(target);

const controller = createController({
  apps,
  core: kc.makeApiClient(CoreV1Api),
  custom,
  cache: informer,
  deployments: deployments.informer,
  log,
  registry,
  metricFor,
  selfDeployment: config.selfDeployment,
  callOptions,
  isLeader: () => elector.isLeader(), // checked before each write, not only when a reconcile starts
});

const queue = new WorkQueue();
const health = new Health(
  3 * config.resyncSeconds * 1000 + 1000,
  config.reconcileBoundSeconds * 1000,
);
const queueAll = () => {
  for (const scaler of informer.list(namespace)) queue.add(keyOf(scaler));
};

// Two replicas run; the one holding the Lease acts. The other watches too (a warm cache), so it
// takes over within one lease duration. Lease timings as client-go's defaults: 15 s, 10 s, 2 s.
const leaderGauge = new Gauge({
  name: 'latency_operator_leader',
  help: '1 on the replica that holds the Lease',
  registers: [registry],
});
const coordination = kc.makeApiClient(CoordinationV1Api);
const leaseApi: LeaseApi = {
  // with a timeout on each call, as every other one
  readNamespacedLease: (param) => coordination.readNamespacedLease(param, callOptions),
  createNamespacedLease: ({ namespace: ns, body }) =>
    coordination.createNamespacedLease({ namespace: ns, body: body as V1Lease }, callOptions),
  replaceNamespacedLease: ({ body, ...param }) =>
    coordination.replaceNamespacedLease({ ...param, body: body as V1Lease }, callOptions),
};
const elector = new LeaderElector(
  leaseApi,
  {
    namespace,
    name: 'latency-operator',
    identity: config.podName,
    ...leaseTimings(config.leaseSeconds),
  },
  (leader) => {
    log.info(
      { identity: config.podName, leader },
      leader ? 'became the leader: reconciling' : 'not the leader: standing by',
    );
    leaderGauge.set(leader ? 1 : 0);
    if (leader) queueAll();
  },
  Date.now,
  log,
);

const keyOf = (scaler: LatencyScaler) => `${scaler.metadata.namespace}/${scaler.metadata.name}`;
informer.on('add', (scaler) => queue.add(keyOf(scaler)));
// An update that is only our own status write (the spec's generation already observed) needs
// no reconcile: the resync tick comes soon enough.
informer.on('update', (scaler) => {
  if (scaler.metadata.generation !== scaler.status?.observedGeneration) queue.add(keyOf(scaler));
});
informer.on('delete', (scaler) => queue.add(keyOf(scaler)));

// The resync tick: on the leader, one Prometheus query, then every LatencyScaler is reconciled.
const resync = setInterval(() => {
  health.tick();
  if (!elector.isLeader()) return;
  void refreshMetrics().then(queueAll);
}, config.resyncSeconds * 1000);

const worker = queue.run(async (key) => {
  if (!elector.isLeader()) return queue.forget(key); // the leader does it
  try {
    await health.track(key, () => controller.reconcile(key));
    queue.forget(key);
  } catch (err) {
    const retryInMs = queue.retry(key);
    log.warn({ scaler: key, err: errorText(err), retryInMs }, 'reconcile failed: will retry');
  }
});

// Liveness follows the worker: a reconcile stuck past its bound, or a stalled tick, fails it. It
// does not depend on Prometheus or the API server answering, or an outage of either would restart
// the operator for nothing.
const server = createServer((req, res) => {
  if (req.url === '/healthz') {
    const { ok, reason } = health.check();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${reason}\n`);
  } else if (req.url === '/readyz') {
    // Unready while the Lease cannot be read or renewed (a 403, a timeout): `kubectl get pods`
    // shows 0/1 instead of two idle replicas that look healthy. Not a liveness matter: a restart
    // fixes no RBAC.
    const { ok, reason } = elector.readiness();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${reason}\n`);
  } else if (req.url === '/metrics') {
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  } else {
    res.writeHead(404).end();
  }
});
server.listen(config.port, () =>
  log.info(
    {
      namespace,
      port: config.port,
      resyncSeconds: config.resyncSeconds,
      identity: config.podName,
      prometheus: config.prometheusUrl,
    },
    'latency operator started',
  ),
);
// Before the first await: as PID 1, node would otherwise ignore a SIGTERM that comes early.
process.on('SIGTERM', (signal) => void shutdown(signal));
process.on('SIGINT', (signal) => void shutdown(signal));
// Lead (and so reconcile) only once both caches are filled: a Deployment not listed yet would
// be reported missing (TargetNotFound).
await Promise.all([scalers.start(), deployments.start()]);
if (!stopping) elector.start();

/** SIGTERM: stop watching and ticking, let the reconcile in progress finish, exit 0. */
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  clearInterval(resync);
  queue.close();
  await Promise.all([scalers.stop(), deployments.stop()]);
  const deadline = setTimeout(() => {
    log.warn('reconcile still running after 5 s: exiting anyway');
    process.exit(1);
  }, 5000);
  await worker;
  await elector.stop(); // after the last reconcile: the next leader starts from its status
  clearTimeout(deadline);
  server.close();
  server.closeAllConnections();
  log.info('stopped');
  process.exit(0);
}
