/**
 * `./kit bench scale`: the operator's own cost at 1,000 LatencyScalers in one namespace.
 *
 * In namespace bench-scale: the operator of steps/04-operator/operator/deploy (its image built by
 * `./kit bench scale`), PROMETHEUS_URL pointed at a stand-in Prometheus (stand-in-prometheus.mjs:
 * answers the batched query with 50 ms for every app, and counts queries), and N Deployments at 0
 * replicas (no pod runs) each with its LatencyScaler. After a warm-up it measures over a window:
 *   - the reconcile period held: N × window / reconciles in the window (the resync period if
 *     every resource is reconciled every tick);
 *   - Prometheus queries per tick (stand-in's count / ticks in the window);
 *   - API writes per second by resource (the API server's apiserver_request_total, write verbs);
 *   - the leader's RSS and CPU (its own /metrics: process_resident_memory_bytes, process_cpu_seconds_total).
 * Then it deletes the namespace.
 *
 *   node tooling/bench/scale.ts [--count 1000] [--window 60] [--image latency-operator:TAG]
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kubectl as kubectlRun, progress } from './shell.ts';
import { operatorImage } from '../lib/manifests.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const KIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OPERATOR = join(KIT_ROOT, 'steps/04-operator/operator/deploy');
const NS = 'bench-scale';

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    window: { type: 'string', default: '60' },
    image: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const COUNT = Number(args.count);
const WINDOW_S = Number(args.window);

const kubectl = (...a: string[]) => kubectlRun(a);
const kubectlStdin = (input: string, ...a: string[]) => kubectlRun(a, input);

/** Prometheus text format: the sum of the samples of NAME whose labels include every one of LABELS. */
export function sumOf(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== '{' && line[name.length] !== ' '))
      continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

/** The operator manifests with their namespace replaced, and the image and Prometheus set. */
async function operatorManifests(image: string): Promise<string> {
  const files = await Promise.all(
    ['rbac.yaml', 'operator.yaml'].map((f) => readFile(join(OPERATOR, f), 'utf8')),
  );
  return files
    .join('\n---\n')
    .replace(/namespace: hits$/gm, `namespace: ${NS}`)
    .replace(/image: latency-operator:\S+/g, `image: ${image}`);
}

const standIn = (code: string) => [
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'stand-in-prometheus', namespace: NS },
    data: { 'server.mjs': code },
  },
  {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'stand-in-prometheus', namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: 'stand-in-prometheus' } },
      template: {
        metadata: { labels: { app: 'stand-in-prometheus' } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'server',
              image: 'node:24-bookworm-slim',
              imagePullPolicy: 'IfNotPresent',
              command: ['node', '/app/server.mjs'],
              ports: [{ containerPort: 9090 }],
              readinessProbe: { httpGet: { path: '/-/ready', port: 9090 }, periodSeconds: 2 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              volumeMounts: [{ name: 'app', mountPath: '/app' }],
            },
          ],
          volumes: [{ name: 'app', configMap: { name: 'stand-in-prometheus' } }],
        },
      },
    },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'stand-in-prometheus', namespace: NS },
    spec: { selector: { app: 'stand-in-prometheus' }, ports: [{ port: 9090 }] },
  },
];

/** Marks the measured targets (not the operator's or the stand-in's Deployment). */
const TARGET_LABEL = { 'bench.kube-selfops.dev/target': 'true' };

/** N Deployments at 0 replicas (an image that is never pulled: no pod ever runs) and their LatencyScalers. */
function targets(count: number): object[] {
  const items: object[] = [];
  for (let i = 0; i < count; i++) {
    const name = `app-${String(i).padStart(4, '0')}`;
    items.push({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace: NS, labels: TARGET_LABEL },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [
              { name: 'app', image: 'bench-scale/never-pulled:0', imagePullPolicy: 'Never' },
            ],
          },
        },
      },
    });
    items.push({
      apiVersion: 'selfops.kube-selfops.dev/v1alpha1',
      kind: 'LatencyScaler',
      metadata: { name, namespace: NS },
      spec: { targetRef: { name }, thresholdMs: 100, minReplicas: 1, maxReplicas: 3 },
    });
  }
  return items;
}

/** The stand-in's counters, read through the API server's service proxy (no host traffic to pod IPs). */
async function standInStats(): Promise<{ queries: number; apps_last: number }> {
  return JSON.parse(
    await kubectl(
      'get',
      '--raw',
      `/api/v1/namespaces/${NS}/services/stand-in-prometheus:9090/proxy/stats`,
    ),
  ) as { queries: number; apps_last: number };
}

/** The leader's /metrics text (latency_operator_leader 1), through the API server's pod proxy. */
async function leaderMetrics(): Promise<{ pod: string; text: string }> {
  const pods = (
    await kubectl(
      '-n',
      NS,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=latency-operator',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    )
  )
    .trim()
    .split(/\s+/);
  for (const pod of pods) {
    const text = await kubectl(
      'get',
      '--raw',
      `/api/v1/namespaces/${NS}/pods/${pod}:8081/proxy/metrics`,
    ).catch(() => '');
    // An operator without leader election (one replica, no such gauge) is its own leader.
    if (sumOf(text, 'latency_operator_leader') === 1 || (pods.length === 1 && text))
      return { pod, text };
  }
  throw new Error(`no operator pod of ${pods.join(', ')} says it is the leader`);
}

const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY'];
/** apiserver_request_total for write verbs, by resource/subresource. */
async function apiWrites(): Promise<Map<string, number>> {
  const text = await kubectl('get', '--raw', '/metrics');
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([^"]+)"/.exec(line)?.[1] ?? '';
    if (!WRITES.includes(verb)) continue;
    const resource = /resource="([^"]*)"/.exec(line)?.[1] ?? '';
    const sub = /subresource="([^"]*)"/.exec(line)?.[1] ?? '';
    const key = sub ? `${resource}/${sub}` : resource;
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

// --- main -----------------------------------------------------------------------------------------
const image = args.image ?? operatorImage();
// The resync period as shipped (a comment may follow the name): never a default that could differ.
const resync = Number(
  /name: RESYNC_SECONDS\b[^\n]*\n\s+value: "(\d+)"/.exec(
    await readFile(join(OPERATOR, 'operator.yaml'), 'utf8'),
  )?.[1] ?? NaN,
);
if (!Number.isInteger(resync))
  throw new Error(`${join(OPERATOR, 'operator.yaml')}: no RESYNC_SECONDS value found`);

progress(
  `namespace ${NS}: the operator (${image}), a stand-in Prometheus, ${COUNT} Deployments at 0 replicas and ${COUNT} LatencyScalers`,
);
await kubectl('delete', 'namespace', NS, '--ignore-not-found', '--wait=true', '--timeout=300s');
await kubectl('create', 'namespace', NS);
// Whatever happens below, the namespace goes (unless --keep): 1,000 Deployments and an operator
// left behind would load the API server under every later test.
try {
  await kubectl('apply', '-f', join(OPERATOR, 'crd.yaml'));
  await kubectl(
    'wait',
    '--for=condition=Established',
    'crd/latencyscalers.selfops.kube-selfops.dev',
    '--timeout=60s',
  );
  await kubectlStdin(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: standIn(
        await readFile(join(KIT_ROOT, 'tooling/bench/stand-in-prometheus.mjs'), 'utf8'),
      ),
    }),
    'apply',
    '-f',
    '-',
  );
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/stand-in-prometheus', '--timeout=120s');
  // The operator first: the controller-manager works through the 1,000 Deployments below at its
  // client rate (20 writes/s), and an operator Deployment queued behind them waits minutes.
  await kubectlStdin(await operatorManifests(image), 'apply', '-f', '-');
  await kubectl(
    '-n',
    NS,
    'set',
    'env',
    'deploy/latency-operator',
    `PROMETHEUS_URL=http://stand-in-prometheus.${NS}.svc:9090`,
  );
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/latency-operator', '--timeout=180s');
  // In chunks of 200 objects: one huge apply would hold the API server's request timeout.
  const all = targets(COUNT);
  for (let i = 0; i < all.length; i += 200) {
    await kubectlStdin(
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: all.slice(i, i + 200) }),
      'apply',
      '--server-side',
      '-f',
      '-',
    );
    progress(`created ${Math.min(i + 200, all.length) / 2} of ${COUNT}`);
  }
  // Not measured: the controller-manager's own writes for the new Deployments (a ReplicaSet and a
  // status each). Wait until it has observed every one, then let the operator's first ticks pass.
  progress('waiting for the controller-manager to observe every Deployment (it writes at 20/s)');
  await kubectl(
    '-n',
    NS,
    'wait',
    'deploy',
    '-l',
    'bench.kube-selfops.dev/target=true',
    '--for=jsonpath={.status.observedGeneration}=1',
    '--timeout=600s',
  );
  progress(
    `warming up for ${3 * resync} s (the first ticks see every resource for the first time)`,
  );
  await sleep(3 * resync * 1000);
  const before = {
    at: Date.now(),
    leader: await leaderMetrics(),
    stats: await standInStats(),
    writes: await apiWrites(),
  };
  progress(`measuring for ${WINDOW_S} s (leader ${before.leader.pod})`);
  let peakRss = sumOf(before.leader.text, 'process_resident_memory_bytes');
  for (const deadline = Date.now() + WINDOW_S * 1000; Date.now() < deadline; await sleep(5000)) {
    peakRss = Math.max(
      peakRss,
      sumOf(
        (await leaderMetrics().catch(() => before.leader)).text,
        'process_resident_memory_bytes',
      ),
    );
  }
  const after = {
    at: Date.now(),
    leader: await leaderMetrics(),
    stats: await standInStats(),
    writes: await apiWrites(),
  };
  if (after.leader.pod !== before.leader.pod)
    throw new Error(
      `the leader changed during the window (${before.leader.pod} -> ${after.leader.pod}): run again`,
    );

  const seconds = (after.at - before.at) / 1000;
  const delta = (name: string) => sumOf(after.leader.text, name) - sumOf(before.leader.text, name);
  const reconciles = delta('latency_operator_reconciles_total');
  const ticks = seconds / resync;
  const writes = [...after.writes]
    .map(([key, n]) => [key, n - (before.writes.get(key) ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const totalWrites = writes.reduce((sum, [, n]) => sum + n, 0);
  const lines = [
    `./kit bench scale: ${COUNT} LatencyScalers in one namespace, resync every ${resync} s, measured over ${seconds.toFixed(0)} s`,
    `  reconcile period held   ${reconciles > 0 ? ((COUNT * seconds) / reconciles).toFixed(2) : '∞'} s per resource (${reconciles} reconciles; ${(reconciles / ticks).toFixed(0)} per tick for ${COUNT} resources)`,
    `  Prometheus queries      ${((after.stats.queries - before.stats.queries) / ticks).toFixed(2)} per tick (${after.stats.queries - before.stats.queries} in ${ticks.toFixed(1)} ticks; the last named ${after.stats.apps_last} apps)`,
    `  API writes              ${(totalWrites / seconds).toFixed(2)} /s (cluster-wide, by resource: ${writes.map(([k, n]) => `${k} ${(n / seconds).toFixed(2)}`).join(', ') || 'none'})`,
    `  operator RSS            ${(sumOf(after.leader.text, 'process_resident_memory_bytes') / 2 ** 20).toFixed(0)} MiB at the end, ${(peakRss / 2 ** 20).toFixed(0)} MiB peak`,
    `  operator CPU            ${((delta('process_cpu_seconds_total') / seconds) * 100).toFixed(1)} % of one core`,
  ];
  console.log(lines.join('\n'));
} finally {
  if (!args.keep) {
    progress(`deleting namespace ${NS}`);
    await kubectl('delete', 'namespace', NS, '--wait=true', '--timeout=300s');
  }
}
