/**
 * The HorizontalPodAutoscaler on the kit's latency signal, on a real cluster: the API server's
 * aggregation layer (tooling/cluster/up.sh) serves external.metrics.k8s.io through
 * prometheus-adapter (k8s/prometheus-adapter, image built from its Go module), which reads the p95
 * that k8s/prometheus records; the HPA of k8s/hpa computes its replicas from it under k6 load.
 * This is the path `./kit bench autoscalers` measures; this test proves it works on every CI run.
 * In a namespace of its own (e2e-hpa; Prometheus in e2e-hpa-monitoring: the shipped manifests,
 * moved), so it runs beside the cluster test files that use hits and monitoring. The adapter keeps
 * its namespace, custom-metrics, which no other cluster test file uses.
 */
import { readFileSync } from 'node:fs';
import {
  KIT_ROOT,
  canI,
  deleteK8sPiece,
  deleteNamespace,
  deployPrometheusFor,
  deployStep,
  eventually,
  kubectl,
  kubectlJson,
  monitoringOf,
  kubectlStdin,
  movedTo,
  nodePortUrl,
  promQuery,
  rolledOut,
  runK6,
} from '@kit/testkit';

const NS = 'e2e-hpa';
const MONITORING = monitoringOf(NS); // where deployPrometheusFor puts the Prometheus that scrapes NS
const STEP = '03-metrics'; // the app with /slow and its metrics, and no autoscaler of its own
const METRIC = 'app_request_latency_seconds_p95_10s';
const P95 = `app:request_latency_seconds:p95_10s{namespace="${NS}",app="hits"}`;
const SA = 'system:serviceaccount:custom-metrics:prometheus-adapter';
/** minReplicas and maxReplicas of a manifest. */
function limits(file: string): { min: number; max: number } {
  const text = readFileSync(`${KIT_ROOT}/${file}`, 'utf8');
  return {
    min: Number(/^\s*minReplicas: (\d+)/m.exec(text)?.[1]),
    max: Number(/^\s*maxReplicas: (\d+)/m.exec(text)?.[1]),
  };
}
const { max: MAX } = limits('k8s/hpa/hpa.yaml');

interface ExternalMetricValueList {
  items: Array<{ metricName: string; metricLabels: Record<string, string>; value: string }>;
}
interface Hpa {
  status: {
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: Array<{
      type: string;
      external?: { metric: { name: string }; current: { value?: string } };
    }> | null;
    conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
  };
}

/** A Kubernetes quantity ("152m", "3", "1500u") as a number. */
function quantity(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(n|u|m|k|M)?$/.exec(text);
  if (!match) throw new Error(`not a quantity: ${text}`);
  const scale = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6 }[match[2] ?? ''] ?? 1;
  return Number(match[1]) * scale;
}

/** Removes the adapter and its APIService (first: a dangling APIService blocks namespace deletion). */
async function deleteAdapter(): Promise<void> {
  await kubectl(
    'delete',
    'apiservice',
    'v1beta1.external.metrics.k8s.io',
    '--ignore-not-found',
  ).catch(() => '');
  await deleteK8sPiece('prometheus-adapter', 'custom-metrics');
}

const externalMetric = () =>
  kubectl(
    'get',
    '--raw',
    `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NS}/${METRIC}?labelSelector=${encodeURIComponent('app=hits')}`,
  ).then((out) => JSON.parse(out) as ExternalMetricValueList);
const hpa = () => kubectlJson<Hpa>('-n', NS, 'get', 'hpa', 'hits');
const replicas = async () =>
  Number(await kubectl('-n', NS, 'get', 'deploy/hits', '-o', 'jsonpath={.spec.replicas}'));

let app: string;
let prometheus: string;

beforeAll(async () => {
  await deleteAdapter(); // whatever an earlier run left
  await Promise.all([deleteNamespace(MONITORING), deleteNamespace(NS)]);
  await deployStep(STEP, NS, { ingress: false }); // the ingress test's Traefik, in the other lane, would serve it
  prometheus = await deployPrometheusFor(NS);
  // The adapter's first query must find Prometheus by name: right after the Service is deleted and
  // made again, the cluster's DNS can still say it does not exist (a CI run logged that lookup
  // failure as the adapter's one error). Resolve it in the cluster, as the adapter will, first.
  await eventually(
    `prometheus.${MONITORING}.svc to resolve in the cluster`,
    () =>
      kubectl(
        '-n',
        MONITORING,
        'exec',
        'deploy/prometheus',
        '--',
        'getent',
        'hosts',
        `prometheus.${MONITORING}.svc`,
      ).then(
        () => true,
        () => undefined,
      ),
    60_000,
  );
  // The adapter as shipped, asking the moved Prometheus (its --prometheus-url).
  await kubectlStdin(
    movedTo(await kubectl('kustomize', `${KIT_ROOT}/k8s/prometheus-adapter`), NS),
    'apply',
    '-f',
    '-',
  );
  await rolledOut('custom-metrics', 'deploy/prometheus-adapter');
  app = await nodePortUrl(NS);
}, 300_000);

afterAll(async () => {
  await kubectl('-n', NS, 'delete', 'hpa', 'hits', '--ignore-not-found').catch(() => '');
  await deleteAdapter();
  await Promise.all([deleteNamespace(MONITORING), deleteNamespace(NS)]);
}, 300_000);

test('the aggregation layer: the API server serves external.metrics.k8s.io from the adapter', async () => {
  await kubectl(
    'wait',
    '--for=condition=Available',
    'apiservice/v1beta1.external.metrics.k8s.io',
    '--timeout=60s',
  );
  // Through the API server (front-proxy client certificate, requestheader identity) to the adapter.
  const list = JSON.parse(
    await kubectl('get', '--raw', '/apis/external.metrics.k8s.io/v1beta1'),
  ) as { kind: string; groupVersion: string };
  expect(list).toMatchObject({
    kind: 'APIResourceList',
    groupVersion: 'external.metrics.k8s.io/v1beta1',
  });
  // The adapter trusted the caller the API server vouched for: no error logged (klog's E lines:
  // an untrusted front-proxy certificate, a CA it could not read), nothing forbidden.
  const logs = await kubectl('-n', 'custom-metrics', 'logs', 'deploy/prometheus-adapter');
  expect(logs).toMatch(
    /Caches are synced for client-ca::kube-system::extension-apiserver-authentication::requestheader-client-ca-file/,
  );
  expect(
    logs
      .split('\n')
      .filter((line) => /^E\d{4} /.test(line) || /forbidden|unauthorized/i.test(line)),
  ).toEqual([]);
}, 120_000);

test("the adapter's ServiceAccount can check callers and read nothing of the apps", async () => {
  expect(await canI(SA, 'create', 'tokenreviews.authentication.k8s.io')).toBe('yes');
  expect(await canI(SA, 'create', 'subjectaccessreviews.authorization.k8s.io')).toBe('yes');
  expect(
    await canI(SA, 'get', 'configmaps/extension-apiserver-authentication', '-n', 'kube-system'),
  ).toBe('yes');
  const denied = [
    ['get', 'pods', '-A'],
    ['list', 'secrets', '-A'],
    ['get', 'configmaps', '-n', NS],
    ['list', 'configmaps', '-n', 'kube-system'],
    ['update', 'deployments.apps', '--subresource=scale', '-n', NS],
    ['*', '*'],
  ];
  for (const args of denied)
    expect(`${args.join(' ')}: ${await canI(SA, ...args)}`).toBe(`${args.join(' ')}: no`);
});

test('under k6 load the adapter serves the recorded p95 and the HPA computes ceil(replicas × p95 / 100 ms)', async () => {
  // The same limits as the operator's LatencyScaler: the two answers to one question.
  expect(limits('k8s/hpa/hpa.yaml')).toEqual(limits('steps/04-operator/deploy/latencyscaler.yaml'));
  await kubectl('-n', NS, 'apply', '-f', `${KIT_ROOT}/k8s/hpa/hpa.yaml`);
  // 8 closed loops on one replica (2 slots × 40 ms): p95 ≈ 160 ms, so the HPA must want 2 or more.
  // A new connection per request, so kube-proxy spreads them over new replicas too.
  const load = runK6('steady.js', {
    VUS: '8',
    DURATION: '90s',
    TARGET: app,
    K6_NO_VU_CONNECTION_REUSE: 'true',
  });
  try {
    // 1. The adapter serves the very value Prometheus recorded (milli-units: the adapter's rounding).
    const served = await eventually(
      'the adapter to serve the p95 Prometheus recorded',
      async () => {
        const items = (await externalMetric().catch(() => ({ items: [] }))).items;
        const recorded = (await promQuery(prometheus, P95))[0]?.value;
        if (items.length !== 1 || recorded === undefined) return undefined;
        const value = quantity(items[0]!.value);
        return Math.abs(value - recorded) <= 0.001
          ? { value, recorded, labels: items[0]!.metricLabels }
          : undefined;
      },
      75_000,
    );
    console.log(
      `external metric ${METRIC}: ${served.value} s (Prometheus: ${served.recorded} s), labels ${JSON.stringify(served.labels)}`,
    );
    expect(served.labels).toMatchObject({ app: 'hits', namespace: NS });

    // 2. The HPA reads it and asks for more replicas, by its own formula for target type Value.
    const status = await eventually(
      'the HPA to want more than 1 replica',
      async () => {
        const s = (await hpa()).status;
        const current = s.currentMetrics?.[0]?.external?.current.value;
        return current !== undefined && (s.desiredReplicas ?? 0) > 1
          ? { ...s, p95: quantity(current) }
          : undefined;
      },
      75_000,
    );
    const predicted = Math.min(MAX, Math.ceil((status.currentReplicas! * status.p95) / 0.1));
    console.log(
      `HPA: p95 ${status.p95} s at ${status.currentReplicas} replica(s) -> desired ${status.desiredReplicas} ` +
        `(ceil(${status.currentReplicas} × ${status.p95} / 0.1) capped at ${MAX} = ${predicted})\n` +
        (status.conditions ?? [])
          .map((c) => `  ${c.type}=${c.status} ${c.reason}: ${c.message}`)
          .join('\n'),
    );
    expect(status.p95).toBeGreaterThan(0.1);
    expect(status.desiredReplicas).toBe(predicted);
    expect(status.conditions?.find((c) => c.type === 'ScalingActive')).toMatchObject({
      status: 'True',
      reason: 'ValidMetricFound',
    });
    // 3. ...and scales the Deployment to it.
    await eventually(
      `deploy/hits at ${status.desiredReplicas} replicas or more`,
      async () => ((await replicas()) >= status.desiredReplicas! ? true : undefined),
      30_000,
    );
  } finally {
    const k6 = await load;
    console.log(
      `k6: p95 ${k6.p95.toFixed(1)} ms, ${k6.requests} requests, failed ${(k6.failedRate * 100).toFixed(2)} %`,
    );
  }
}, 240_000);
