/**
 * Step 04 on a real Kubernetes cluster (beat 9): the operator, built from operator/ with
 * `docker build`, scales the app on the p95 that Prometheus (k8s/prometheus) records, under k6
 * load on /slow. It adds replicas until latency is back under 100 ms, never past maxReplicas,
 * one step per cooldown; with Prometheus down it holds and says why; its ServiceAccount can do
 * only what its Role lists.
 */
import { readFileSync } from 'node:fs';
import { canI, deleteNamespace, deletePrometheus, deployStep, docker, eventually, kubectl, kubectlJson, nodePortUrl, promQuery, runK6, KIT_ROOT } from '@kit/testkit';

const NS = 'hits'; // the namespace k8s/prometheus scrapes (hits-metrics.hits.svc)
const STEP = `${KIT_ROOT}/steps/04-operator`;
const CRD = `${STEP}/operator/deploy/crd.yaml`;
const P95 = 'app:request_latency_seconds:p95_30s{namespace="hits",app="hits"}';
const COOLDOWN_S = 15; // short for the test; deploy/latencyscaler.yaml says 30
const MAX = 3;
const SA = `system:serviceaccount:${NS}:latency-operator`;

let app: string;
let prometheus: string;

interface Condition { type: string; status: string; reason: string; message: string }
interface Scaler { status?: { currentReplicas?: number; lastLatencyMs?: number; lastScaleTime?: string; conditions?: Condition[] } }
interface Event { reason: string; message: string; type: string; firstTimestamp: string }

const scaler = () => kubectlJson<Scaler>('-n', NS, 'get', 'latencyscaler', 'hits');
const conditionOf = async (type: string) => (await scaler()).status?.conditions?.find((c) => c.type === type);
const replicas = async () => Number(await kubectl('-n', NS, 'get', 'deploy/hits', '-o', 'jsonpath={.spec.replicas}'));
const p95Ms = async () => ((await promQuery(prometheus, P95).catch(() => []))[0]?.value ?? NaN) * 1000;
const events = async (reason: string) =>
  (await kubectlJson<{ items: Event[] }>('-n', NS, 'get', 'events', '--field-selector', `reason=${reason},involvedObject.kind=LatencyScaler`)).items
    .sort((a, b) => a.firstTimestamp.localeCompare(b.firstTimestamp));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  await deletePrometheus();
  await deleteNamespace(NS);
  // The operator's image, built from its folder as an attendee does, under its manifest's name.
  const image = /^\s+image: (latency-operator:\S+)$/m.exec(readFileSync(`${STEP}/operator/deploy/operator.yaml`, 'utf8'))?.[1];
  if (!image) throw new Error('operator/deploy/operator.yaml names no latency-operator image');
  await docker('build', '-q', '-t', image, `${STEP}/operator`);
  // What the cluster admin does once: the CRD. Then the app with its LatencyScaler (deploy/).
  await kubectl('apply', '-f', CRD);
  await kubectl('wait', '--for=condition=Established', 'crd/latencyscalers.selfops.kube-selfops.dev', '--timeout=60s');
  await deployStep('04-operator', NS);
  await kubectl('-n', NS, 'patch', 'latencyscaler', 'hits', '--type=merge', '-p', JSON.stringify({ spec: { cooldownSeconds: COOLDOWN_S } }));
  await kubectl('apply', '-k', `${KIT_ROOT}/k8s/prometheus`);
  await kubectl('-n', 'monitoring', 'rollout', 'status', 'deploy/prometheus', '--timeout=120s');
  await kubectl('-n', 'monitoring', 'expose', 'deploy/prometheus', '--name=prometheus-nodeport', '--type=NodePort', '--port=9090');
  const service = await kubectlJson<{ spec: { ports: Array<{ nodePort: number }> } }>('-n', 'monitoring', 'get', 'service', 'prometheus-nodeport');
  prometheus = `http://127.0.0.1:${service.spec.ports[0]!.nodePort}`;
  await kubectl('apply', '-f', `${STEP}/operator/deploy/rbac.yaml`, '-f', `${STEP}/operator/deploy/operator.yaml`);
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/latency-operator', '--timeout=120s');
  app = await nodePortUrl(NS);
}, 300_000);
afterAll(async () => {
  await deletePrometheus();
  await deleteNamespace(NS);
  await kubectl('delete', '-f', CRD, '--ignore-not-found', '--wait=true', '--timeout=60s').catch(() => '');
}, 300_000);

test('the operator\'s ServiceAccount can do what its Role lists, and nothing else', async () => {
  const allowed = [
    ['watch', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS],
    ['patch', 'latencyscalers.selfops.kube-selfops.dev', '--subresource=status', '-n', NS],
    ['update', 'deployments.apps', '--subresource=scale', '-n', NS],
    ['create', 'events', '-n', NS],
  ];
  const denied = [
    ['delete', 'pods', '-n', NS],
    ['get', 'secrets', '-n', NS],
    ['update', 'deployments.apps', '-n', NS], // the scale only: not the image, env, ...
    ['patch', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS], // the status only: not the spec
    ['create', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS],
    ['update', 'deployments.apps', '--subresource=scale', '-n', 'kube-system'], // its namespace only
    ['list', 'latencyscalers.selfops.kube-selfops.dev', '--all-namespaces'],
    ['list', 'nodes'],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
  ];
  const answers = async (list: string[][]) => Promise.all(list.map(async (args) => `${args.join(' ')}: ${await canI(SA, ...args)}`));
  const [yes, no] = [await answers(allowed), await answers(denied)];
  console.log(`kubectl auth can-i --as ${SA}\n  ${[...yes, ...no].join('\n  ')}`);
  expect(yes.every((line) => line.endsWith(': yes'))).toBe(true);
  expect(no.every((line) => line.endsWith(': no'))).toBe(true);
  const { spec } = await kubectlJson<{ spec: { template: { spec: { containers: Array<{ securityContext: object }> } } } }>('-n', NS, 'get', 'deploy/latency-operator');
  expect(spec.template.spec.containers[0]?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
});

test('under k6 load on /slow it adds replicas, one per cooldown, never past max, until p95 < 100 ms', async () => {
  // Before the load: the operator runs and has nothing to decide ("no data" is not "0 ms").
  await eventually('the operator to report "no data"', async () => ((await conditionOf('MetricAvailable'))?.reason === 'NoData' ? true : undefined), 60_000);
  expect(await replicas()).toBe(1);

  // 6 closed loops: one replica (2 slots of 40 ms) answers in 3 turns, ~120 ms. A new connection
  // per request, so kube-proxy (which balances connections) spreads them over new replicas too.
  const start = Date.now();
  const load = runK6('steady.js', { VUS: '6', DURATION: '120s', TARGET: app, K6_NO_VU_CONNECTION_REUSE: 'true' });
  let loadDone = false;
  void load.finally(() => (loadDone = true)).catch(() => undefined);
  const timeline: Array<{ t: number; replicas: number; p95: number }> = [];
  while (!loadDone) {
    timeline.push({ t: Math.round((Date.now() - start) / 1000), replicas: await replicas(), p95: await p95Ms() });
    await sleep(2000);
  }
  const k6 = await load;
  console.log(`k6 over the whole run: p95 ${k6.p95.toFixed(1)} ms, ${k6.requests} requests, failed ${(k6.failedRate * 100).toFixed(2)} %\n` +
    `t(s) replicas p95(ms, Prometheus)\n${timeline.map((s) => `${String(s.t).padStart(4)} ${s.replicas} ${s.p95.toFixed(1)}`).join('\n')}`);

  const ups = await events('ScaledUp');
  console.log(ups.map((e) => `${e.firstTimestamp} ${e.reason}: ${e.message}`).join('\n'));
  const peak = Math.max(...timeline.map((s) => s.replicas));
  // The first 40 s: one replica's latency, in the 30 s window of the p95, before and just after the first scale.
  const before = timeline.filter((s) => s.t < 40 && s.p95 > 0).map((s) => s.p95);
  const end = timeline.filter((s) => s.t >= timeline.at(-1)!.t - 10);

  expect(k6.failedRate).toBeLessThan(0.01);
  expect(Math.max(...before)).toBeGreaterThan(100); // one replica was too slow...
  expect(peak).toBeGreaterThanOrEqual(2); // ...so the operator added replicas,
  expect(peak).toBeLessThanOrEqual(MAX); // never more than maxReplicas,
  expect(ups.length).toBe(peak - 1); // one ScaledUp event per replica added,
  for (let i = 1; i < ups.length; i++) {
    // at most one scale per cooldown (Event times are whole seconds),
    expect(Date.parse(ups[i]!.firstTimestamp) - Date.parse(ups[i - 1]!.firstTimestamp)).toBeGreaterThanOrEqual((COOLDOWN_S - 1) * 1000);
  }
  for (const sample of end) expect(sample.p95).toBeLessThan(100); // and latency recovered.
  console.log(`p95 (Prometheus): ${Math.max(...before).toFixed(1)} ms with 1 replica -> ${end.at(-1)!.p95.toFixed(1)} ms with ${end.at(-1)!.replicas}`);
  expect((await scaler()).status).toMatchObject({ currentReplicas: peak, lastScaleTime: expect.any(String) });
  // The operator's own /metrics agrees (read inside its pod: no host traffic to pod addresses).
  const metrics = await kubectl('-n', NS, 'exec', 'deploy/latency-operator', '--', 'node', '-e',
    "fetch('http://127.0.0.1:8081/metrics').then((r) => r.text()).then((t) => console.log(t))");
  expect(metrics).toContain(`latency_operator_scales_total{direction="up"} ${peak - 1}`);
}, 240_000);

test('Prometheus down: the operator holds the replicas and says why (MetricAvailable=False, an Event)', async () => {
  const held = await replicas();
  // More than minReplicas and no load: an operator that read "no answer" as "0 ms" would scale
  // down here as soon as the cooldown is over.
  expect(held).toBeGreaterThan(1);
  await kubectl('-n', 'monitoring', 'scale', 'deploy/prometheus', '--replicas=0');
  const condition = await eventually('MetricAvailable=False', async () => {
    const c = await conditionOf('MetricAvailable');
    return c?.status === 'False' && c.reason === 'PrometheusUnavailable' ? c : undefined;
  }, 60_000);
  const samples: number[] = [];
  for (const deadline = Date.now() + (COOLDOWN_S + 10) * 1000; Date.now() < deadline; await sleep(2000)) samples.push(await replicas());
  const [warning] = await events('MetricUnavailable');
  console.log(`Prometheus down: ${condition.reason}: ${condition.message}\nEvent ${warning?.type} ${warning?.reason}: ${warning?.message}\nreplicas over ${COOLDOWN_S + 10} s: ${samples.join(' ')}`);
  expect(samples.every((n) => n === held)).toBe(true);
  expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining('holding') });
  expect((await events('ScaledDown'))).toHaveLength(0);
}, 120_000);

test('a spec change takes effect: lowering maxReplicas brings replicas down to it, Prometheus or not', async () => {
  const now = await replicas();
  const start = Date.now();
  await kubectl('-n', NS, 'patch', 'latencyscaler', 'hits', '--type=merge', '-p', JSON.stringify({ spec: { maxReplicas: now - 1 } }));
  await eventually(`replicas ${now - 1}`, async () => ((await replicas()) === now - 1 ? true : undefined), 30_000);
  const [event] = await events('ScaledToLimit');
  console.log(`maxReplicas ${now} -> ${now - 1}: replicas followed within ${((Date.now() - start) / 1000).toFixed(1)} s; Event ${event?.reason}: ${event?.message}`);
  expect(event?.message).toContain(`${now} replicas is over maxReplicas ${now - 1}`);
}, 60_000);

test('SIGTERM: the operator stops cleanly, well within its 10 s grace period', async () => {
  const pod = (await kubectl('-n', NS, 'get', 'pod', '-l', 'app.kubernetes.io/name=latency-operator', '-o', 'name')).trim();
  const logs = kubectl('-n', NS, 'logs', '-f', pod); // ends when the container does
  await sleep(500);
  const start = Date.now();
  await kubectl('-n', NS, 'delete', pod, '--wait=true');
  const seconds = (Date.now() - start) / 1000;
  const lines = (await logs).split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string });
  console.log(`kubectl delete ${pod}: ${seconds.toFixed(1)} s; last log lines: ${lines.slice(-3).map((l) => l.msg).join(' | ')}`);
  const messages = lines.map((l) => l.msg);
  expect(messages).toContain('shutting down');
  expect(messages.at(-1)).toBe('stopped'); // after the reconcile in progress, if any, finished
  expect(messages.indexOf('shutting down')).toBeLessThan(messages.length - 1);
  expect(seconds).toBeLessThan(5);
}, 60_000);
