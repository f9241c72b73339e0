/**
 * Step 04 on a real Kubernetes cluster (beat 9), with the LatencyScaler AS SHIPPED
 * (deploy/latencyscaler.yaml: 1-5 replicas, 100 ms, cooldown 20 s, scale-down window 60 s) and
 * the operator as shipped (2 replicas, leader election). One namespace and one load run serve
 * several promises, in order:
 * RBAC -> one leader -> "no traffic" is a fact -> k6 ramp to 6 VUs: exactly the replicas the
 * demand needs, in one step, p95 back under 100 ms, and the leader killed just after that
 * scale-up: no step until its cooldown ends -> load stops, the leader pod is deleted: back to
 * minReplicas one at a time, on the window kept in status, no extra scale, the other replica took
 * over -> dryRun -> paused ->
 * Prometheus down: hold -> a LatencyScaler on the operator itself is refused -> a frozen leader:
 * taken over only once the Lease expires -> SIGTERM: released, taken over at once. Beside them, a
 * replica whose Role lacks the Lease (403): unready, and says why once.
 * In namespaces of its own (e2e-04, and e2e-04-monitoring for Prometheus: the shipped manifests,
 * moved), so it runs beside the cluster test files that use hits and monitoring.
 */
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  canI,
  clusterEnv,
  deleteNamespace,
  loadIntoCluster,
  deployPrometheusFor,
  deployStep,
  docker,
  eventually,
  holdLock,
  jsonLogLines,
  kubectl,
  kubectlJson,
  monitoringOf,
  kubectlStdin,
  movedTo,
  nodePortUrl,
  operatorImage,
  promQuery,
  runK6,
  KIT_ROOT,
} from '@kit/testkit';
import { readConfig } from '../operator/src/config.js';
import { WINDOW_S as P95_WINDOW_S } from '../operator/src/decide.js';
import { leaseTimings } from '../operator/src/lease.js';

const execFileAsync = promisify(execFile);
const NS = 'e2e-04';
const MONITORING = monitoringOf(NS); // where deployPrometheusFor puts the Prometheus that scrapes NS
const STEP = `${KIT_ROOT}/steps/04-operator`;
const CRD = `${STEP}/operator/deploy/crd.yaml`;
// The 10 s p95 the operator reads (k8s/prometheus/rules.yml, group app-demand).
const P95 = `app:request_latency_seconds:p95_10s{namespace="${NS}",app="hits"}`;
const SA = `system:serviceaccount:${NS}:latency-operator`;
// 6 users in closed loops are 6 requests in flight, on any number of replicas. kube-proxy spreads
// them at random (operator/src/capacity.ts): on 2 replicas 19 % of requests share theirs with 4
// or more others (Binomial(5, 1/2)) and wait a second turn of /slow's 2 slots (~120 ms), so the
// p95 stays ~120 ms; on 3 it is 4.5 % (Binomial(5, 1/3)), p95 ~80 ms, the count step 03's cluster
// test scales to by hand. So exactly 3 at 6 VUs, reached in one step.
const VUS = 6;
const EXPECTED = 3;
// The LatencyScaler as shipped, read from its manifest, not copied.
const shipped = (field: string) =>
  Number(
    new RegExp(`^\\s+${field}: (\\d+)$`, 'm').exec(
      readFileSync(`${STEP}/deploy/latencyscaler.yaml`, 'utf8'),
    )?.[1],
  );
const COOLDOWN_S = shipped('cooldownSeconds');
const DOWN_WINDOW_S = shipped('scaleDownWindowSeconds');
// The leader's pod is deleted this long after the load stops: late enough in the scale-down
// window that a leader without the window of status would go down 20 s after the bound.
const DELETE_AFTER_S = 40;
// The operator's Lease as deployed (operator.yaml sets no LEASE_SECONDS: the default), and its timings.
const LEASE = leaseTimings(readConfig({ WATCH_NAMESPACE: NS }).leaseSeconds);

let app: string;
let prometheus: string;
let releaseCrd: () => Promise<void> = () => Promise.resolve();

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Status {
  currentReplicas?: number;
  desiredReplicas?: number;
  lastLatencyMs?: number;
  lastScaleTime?: string;
  lastDecision?: { reason: string; message: string };
  conditions?: Condition[];
}
interface Event {
  reason: string;
  message: string;
  type: string;
  firstTimestamp: string;
  involvedObject: { name: string };
}

const status = async (name = 'hits') =>
  (await kubectlJson<{ status?: Status }>('-n', NS, 'get', 'latencyscaler', name)).status ?? {};
const conditionOf = async (type: string, name = 'hits') =>
  (await status(name)).conditions?.find((c) => c.type === type);
const replicas = async () =>
  Number(await kubectl('-n', NS, 'get', 'deploy/hits', '-o', 'jsonpath={.spec.replicas}'));
// No sample is NaN (no traffic); a query that fails for a moment is asked again, not read as NaN.
const p95Ms = async () =>
  ((
    await eventually(
      'Prometheus to answer',
      () => promQuery(prometheus, P95).catch(() => undefined),
      10_000,
      500,
    )
  )[0]?.value ?? NaN) * 1000;
const events = async (reason: string) =>
  (
    await kubectlJson<{ items: Event[] }>(
      '-n',
      NS,
      'get',
      'events',
      '--field-selector',
      `reason=${reason},involvedObject.kind=LatencyScaler`,
    )
  ).items.sort((a, b) => a.firstTimestamp.localeCompare(b.firstTimestamp));
const holder = async () =>
  (
    await kubectl(
      '-n',
      NS,
      'get',
      'lease',
      'latency-operator',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    )
  ).trim();
const operatorPods = async () =>
  (
    await kubectl(
      '-n',
      NS,
      'get',
      'pod',
      '-l',
      'app.kubernetes.io/name=latency-operator',
      '-o',
      'jsonpath={.items[*].metadata.name}',
    )
  )
    .trim()
    .split(/\s+/)
    .filter(Boolean);
const patch = (spec: object) =>
  kubectl(
    '-n',
    NS,
    'patch',
    'latencyscaler',
    'hits',
    '--type=merge',
    '-p',
    JSON.stringify({ spec }),
  );
/** Every version of the Lease from now until stop(): when this test saw it, and its holder ('' once released). */
function watchLease(): { seen: Array<{ at: number; holder: string }>; stop: () => void } {
  const { kubectl: bin, kubeconfig } = clusterEnv();
  const watch = spawn(bin, [
    '--kubeconfig',
    kubeconfig,
    '-n',
    NS,
    'get',
    'lease',
    'latency-operator',
    '--watch',
    '-o',
    'jsonpath={.spec.holderIdentity}{"\\n"}',
  ]);
  const seen: Array<{ at: number; holder: string }> = [];
  let rest = '';
  watch.stdout.on('data', (chunk: Buffer) => {
    const lines = (rest + chunk.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) seen.push({ at: Date.now(), holder: line.trim() });
  });
  return { seen, stop: () => void watch.kill() };
}
/** Sends SIG to the operator's process in POD from the kind node: inside the container, its PID 1 ignores what it has no handler for. */
async function signalOperator(pod: string, sig: 'STOP' | 'CONT' | 'KILL'): Promise<void> {
  const node = `${clusterEnv().kindCluster}-control-plane`;
  const id = (
    await docker(
      'exec',
      node,
      'crictl',
      'ps',
      '-q',
      '--name',
      '^operator$',
      '--label',
      `io.kubernetes.pod.name=${pod}`,
      '--label',
      `io.kubernetes.pod.namespace=${NS}`,
    )
  ).trim();
  if (!/^[0-9a-f]+$/.test(id))
    throw new Error(`no single operator container in ${pod}: ${JSON.stringify(id)}`);
  const pid = (
    await docker(
      'exec',
      node,
      'crictl',
      'inspect',
      '-o',
      'go-template',
      '--template',
      '{{.info.pid}}',
      id,
    )
  ).trim();
  await docker('exec', node, 'kill', `-${sig}`, pid);
}
/** Samples replicas every 2 s for SECONDS. */
async function watchReplicas(seconds: number): Promise<number[]> {
  const samples: number[] = [];
  for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline; await sleep(2000))
    samples.push(await replicas()); // for a duration: no condition to wait for
  return samples;
}

beforeAll(async () => {
  await Promise.all([deleteNamespace(MONITORING), deleteNamespace(NS)]);
  // The operator's image, built from its folder as an attendee does, under its manifest's name.
  const image = operatorImage();
  await docker('build', '-q', '-t', image, `${STEP}/operator`);
  await loadIntoCluster(image);
  // What the cluster admin does once: the CRD (shared with the other lane's files, so it stays
  // installed: tooling/testkit/lock.ts). Then the app with its LatencyScaler as shipped.
  releaseCrd = await holdLock('crd', 'shared');
  await kubectl('apply', '-f', CRD);
  await kubectl(
    'wait',
    '--for=condition=Established',
    'crd/latencyscalers.selfops.kube-selfops.dev',
    '--timeout=60s',
  );
  await deployStep('04-operator', NS, { ingress: false }); // the ingress test's Traefik, in the other lane, would serve it
  // From step 02 on every pod of the app meets the restricted Pod Security Standard: enforced here,
  // so the operator's pods and every replica it adds are admitted under it (k8s/hits enforces only
  // baseline, for the root-running steps 00 and 01).
  await kubectl('label', '--overwrite', 'ns', NS, 'pod-security.kubernetes.io/enforce=restricted');
  prometheus = await deployPrometheusFor(NS);
  const manifests = ['rbac.yaml', 'operator.yaml'].map((file) =>
    readFileSync(`${STEP}/operator/deploy/${file}`, 'utf8'),
  );
  await kubectlStdin(movedTo(manifests.join('\n---\n'), NS), 'apply', '-f', '-');
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/latency-operator', '--timeout=120s');
  app = await nodePortUrl(NS);
}, 1_800_000); // the CRD lock may wait for the README test of step 04, which deletes the CRD
afterAll(async () => {
  await Promise.all([deleteNamespace(MONITORING), deleteNamespace(NS)]);
  await releaseCrd();
}, 300_000);

test("the operator's ServiceAccount can do what its Role lists, and nothing else", async () => {
  const allowed = [
    ['list', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS], // the informer's cache
    ['watch', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS],
    ['patch', 'latencyscalers.selfops.kube-selfops.dev', '--subresource=status', '-n', NS],
    ['update', 'deployments.apps', '--subresource=scale', '-n', NS],
    ['list', 'deployments.apps', '-n', NS], // read-only, the informer's cache: replicas, how many are ready
    ['watch', 'deployments.apps', '-n', NS],
    ['create', 'events', '-n', NS],
    ['create', 'leases.coordination.k8s.io', '-n', NS],
    ['get', 'leases.coordination.k8s.io/latency-operator', '-n', NS],
    ['update', 'leases.coordination.k8s.io/latency-operator', '-n', NS],
  ];
  const denied = [
    ['delete', 'pods', '-n', NS],
    ['get', 'secrets', '-n', NS],
    ['update', 'deployments.apps', '-n', NS], // the scale only: not the image, env, ...
    ['get', 'deployments.apps', '-n', NS], // no GET per reconcile: the cache is read
    ['patch', 'deployments.apps', '--subresource=scale', '-n', NS], // only the update it makes
    ['update', 'latencyscalers.selfops.kube-selfops.dev', '--subresource=status', '-n', NS], // a merge patch, nothing else
    ['patch', 'events', '-n', NS],
    ['patch', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS], // the status only: not the spec
    ['create', 'latencyscalers.selfops.kube-selfops.dev', '-n', NS],
    ['update', 'deployments.apps', '--subresource=scale', '-n', 'kube-system'], // its namespace only
    ['list', 'deployments.apps', '-n', 'kube-system'],
    ['list', 'latencyscalers.selfops.kube-selfops.dev', '--all-namespaces'],
    ['list', 'nodes'],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['update', 'leases.coordination.k8s.io/someone-else', '-n', NS], // its own Lease only
    ['delete', 'leases.coordination.k8s.io/latency-operator', '-n', NS],
    ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'], // e.g. the scheduler's: never
  ];
  const answers = async (list: string[][]) =>
    Promise.all(list.map(async (args) => `${args.join(' ')}: ${await canI(SA, ...args)}`));
  const [yes, no] = [await answers(allowed), await answers(denied)];
  console.log(`kubectl auth can-i --as ${SA}\n  ${[...yes, ...no].join('\n  ')}`);
  expect(yes.filter((line) => !line.endsWith(': yes'))).toEqual([]);
  expect(no.filter((line) => !line.endsWith(': no'))).toEqual([]);
});

test('the namespace enforces the restricted Pod Security Standard, and every pod of the step (app, Redis, operator) meets it', async () => {
  const labels = (
    await kubectlJson<{ metadata: { labels: Record<string, string> } }>('get', 'ns', NS)
  ).metadata.labels;
  expect(labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
  // The API server's own check of the pods there are: a server-side dry run of the label warns
  // about each pod that violates it ("existing pods in namespace ... violate"), on stderr.
  const { kubectl: bin, kubeconfig } = clusterEnv();
  const { stderr } = await execFileAsync(bin, [
    '--kubeconfig',
    kubeconfig,
    'label',
    '--dry-run=server',
    '--overwrite',
    'ns',
    NS,
    'pod-security.kubernetes.io/enforce=restricted',
  ]);
  expect(stderr).not.toContain('violate');
  // And the fields, read back: pod-level runAsNonRoot and seccomp RuntimeDefault; per container no
  // privilege escalation, every capability dropped, not privileged, not uid 0.
  type SecurityContext = {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    seccompProfile?: { type: string };
    allowPrivilegeEscalation?: boolean;
    privileged?: boolean;
    capabilities?: { drop?: string[]; add?: string[] };
    readOnlyRootFilesystem?: boolean;
  };
  type Pod = {
    metadata: { name: string; labels?: Record<string, string> };
    spec: {
      securityContext?: SecurityContext;
      hostNetwork?: boolean;
      hostPID?: boolean;
      hostIPC?: boolean;
      containers: Array<{ name: string; securityContext?: SecurityContext }>;
    };
  };
  const pods = (await kubectlJson<{ items: Pod[] }>('-n', NS, 'get', 'pods')).items;
  expect(
    pods.map((p) => p.metadata.labels?.['app.kubernetes.io/name'] ?? p.metadata.name).sort(),
  ).toEqual(expect.arrayContaining(['hits', 'latency-operator', 'redis']));
  const violations = pods.flatMap((pod) =>
    [pod.spec, ...pod.spec.containers].flatMap((at) => {
      const sc = { ...pod.spec.securityContext, ...('name' in at ? at.securityContext : {}) };
      const where = 'name' in at ? `${pod.metadata.name}/${at.name}` : pod.metadata.name;
      const wrong =
        'name' in at
          ? [
              sc.allowPrivilegeEscalation === false || 'allowPrivilegeEscalation',
              sc.capabilities?.drop?.includes('ALL') || 'capabilities.drop ALL',
              (sc.capabilities?.add ?? []).every((c) => c === 'NET_BIND_SERVICE') ||
                'capabilities.add',
              !sc.privileged || 'privileged',
              sc.runAsNonRoot === true || 'runAsNonRoot',
              sc.runAsUser !== 0 || 'runAsUser 0',
              sc.seccompProfile?.type === 'RuntimeDefault' || 'seccompProfile',
            ]
          : [
              (!pod.spec.hostNetwork && !pod.spec.hostPID && !pod.spec.hostIPC) ||
                'host namespaces',
            ];
      return wrong.filter((w): w is string => w !== true).map((w) => `${where}: ${w}`);
    }),
  );
  expect(violations).toEqual([]);
  const { spec } = await kubectlJson<{
    spec: { template: { spec: { containers: Array<{ securityContext: object }> } } };
  }>('-n', NS, 'get', 'deploy/latency-operator');
  expect(spec.template.spec.containers[0]?.securityContext).toMatchObject({
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
});

test("a replica whose Role lacks the Lease (403) is unready, and logs why once, with the code and the API server's message", async () => {
  // The shipped Role without its Lease rules, for a ServiceAccount of its own; the shipped pod
  // template, one replica, under another name (so operatorPods() does not see it).
  const NAME = 'latency-operator-nolease';
  const role = await kubectlJson<{ rules: Array<{ apiGroups?: string[] }> }>(
    '-n',
    NS,
    'get',
    'role',
    'latency-operator',
  );
  const shipped = await kubectlJson<{ spec: { template: { spec: Record<string, unknown> } } }>(
    '-n',
    NS,
    'get',
    'deploy',
    'latency-operator',
  );
  const labels = { 'app.kubernetes.io/name': NAME };
  const objects = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: NAME } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: NAME },
      rules: role.rules.filter((rule) => !rule.apiGroups?.includes('coordination.k8s.io')),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: NAME },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: NAME },
      subjects: [{ kind: 'ServiceAccount', name: NAME, namespace: NS }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: NAME, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { ...shipped.spec.template.spec, serviceAccountName: NAME, serviceAccount: NAME },
        },
      },
    },
  ];
  const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects });
  await kubectlStdin(list, '-n', NS, 'apply', '-f', '-');
  try {
    expect(
      await canI(
        `system:serviceaccount:${NS}:${NAME}`,
        'get',
        'leases.coordination.k8s.io/latency-operator',
        '-n',
        NS,
      ),
    ).toBe('no');
    type Pod = {
      metadata: { name: string };
      status: {
        phase?: string;
        conditions?: Array<{ type: string; status: string }>;
        containerStatuses?: Array<{ started?: boolean }>;
      };
    };
    const pod = await eventually(
      'its container to start',
      async () =>
        (
          await kubectlJson<{ items: Pod[] }>(
            '-n',
            NS,
            'get',
            'pod',
            '-l',
            `app.kubernetes.io/name=${NAME}`,
          )
        ).items.find((p) => p.status.containerStatuses?.[0]?.started),
      90_000,
    );
    const name = pod.metadata.name;
    // Several tries later (one every few seconds), and a few readiness probes.
    const probed = await eventually(
      'a failed readiness probe',
      async () => {
        const list = await kubectlJson<{ items: Array<{ reason: string; message: string }> }>(
          '-n',
          NS,
          'get',
          'events',
          '--field-selector',
          `involvedObject.name=${name},reason=Unhealthy`,
        );
        // (the first probe may come before it listens: "connection refused", not the answer sought)
        return list.items.find(
          (e) =>
            e.message.startsWith('Readiness probe failed') && e.message.includes('statuscode: 503'),
        );
      },
      60_000,
    );
    await sleep(5 * LEASE.retrySeconds * 1000);
    const now = await kubectlJson<Pod>('-n', NS, 'get', 'pod', name);
    const lines = jsonLogLines<{ level: string; msg: string; code?: number; message?: string }>(
      await kubectl('-n', NS, 'logs', name),
    );
    const errors = lines.filter((line) => line.msg.startsWith('cannot read or renew the Lease'));
    console.log(
      `${name}: ${probed.message}; Ready ${now.status.conditions?.find((c) => c.type === 'Ready')?.status}; ${errors.length} Lease error line(s): ${JSON.stringify(errors[0])}`,
    );
    expect(now.status.phase).toBe('Running');
    expect(now.status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(errors).toHaveLength(1); // its first error, not one a try
    expect(errors[0]).toMatchObject({
      level: 'warn',
      code: 403,
      message: expect.stringContaining('cannot get resource "leases"'),
    });
    expect(lines.some((line) => line.msg.includes('became the leader'))).toBe(false);
  } finally {
    await kubectlStdin(list, '-n', NS, 'delete', '--wait=false', '-f', '-');
  }
}, 240_000);

test('two replicas run, exactly one holds the Lease; with no traffic it says so (a fact) and stays at min', async () => {
  const pods = await operatorPods();
  expect(pods).toHaveLength(2);
  const leader = await eventually(
    'a Lease holder',
    async () => (await holder()) || undefined,
    30_000,
  );
  expect(pods).toContain(leader);
  // Only the leader reconciles: its log has "became the leader", the other's has not.
  const leads = async () =>
    Promise.all(
      pods.map(async (pod) => (await kubectl('-n', NS, 'logs', pod)).includes('became the leader')),
    );
  const says = await eventually(
    'the leader to log it',
    async () => ((await leads()).some(Boolean) ? leads() : undefined),
    15_000,
  );
  expect(says).toEqual(pods.map((pod) => pod === leader));
  const metric = await eventually(
    'MetricAvailable NoTraffic',
    async () => ((await conditionOf('MetricAvailable'))?.reason === 'NoTraffic' ? true : undefined),
    60_000,
  );
  expect(metric).toBe(true);
  expect(await replicas()).toBe(1);
  expect((await status()).lastDecision?.reason).toBe('AtMinReplicas');
});

test(`k6 ramp to ${VUS} VUs: exactly ${EXPECTED} replicas in one step (the demand's count), p95 back under 100 ms; the leader killed just after the scale-up: no step until that cooldown ends; load stops, the leader is deleted: back to 1, one at a time, on the window kept in status, no extra scale`, async () => {
  const start = Date.now();
  // A new connection per request, so kube-proxy (which balances connections) spreads them over new replicas too.
  const load = runK6('ramp.js', {
    MAX_VUS: String(VUS),
    DURATION: '20s',
    HOLD: '130s',
    TARGET: app,
    K6_NO_VU_CONNECTION_REUSE: 'true',
  });
  let loadDone = false;
  void load.finally(() => (loadDone = true)).catch(() => undefined);
  const timeline: Array<{ t: number; replicas: number; p95: number }> = [];
  const sample = async () =>
    timeline.push({
      t: Math.round((Date.now() - start) / 1000),
      replicas: await replicas(),
      p95: await p95Ms(),
    });
  // Restart safety: the leader is killed (SIGKILL: no release, no last word) right after its
  // scale-up, in that scale's cooldown. Whoever leads next (the other replica once the Lease
  // expires, or this one restarted) knows of the cooldown only from status: without it, it would
  // learn a replica's capacity from a window still mostly of 1 replica (p95 ~120 ms), read it as
  // 3 replicas' and scale up again.
  let killed: { at: number; pod: string } | undefined;
  await eventually(
    'the k6 run to end',
    async () => {
      await sample();
      if (!killed && timeline.at(-1)!.replicas > 1) {
        const pod = await holder();
        await signalOperator(pod, 'KILL');
        killed = { at: Date.now(), pod };
      }
      return loadDone ? true : undefined;
    },
    600_000,
    2000,
  );
  const k6 = await load;
  const loadEndAt = Date.now();
  const loadEnd = timeline.at(-1)!.t;
  const atPeak = timeline.filter((s) => s.t >= loadEnd - 10);
  const ups = await events('ScaledUp');
  const upAt = ups.map((e) => Date.parse(e.firstTimestamp));

  // Load stops. Delete the leader's pod in the middle of the scale-down window: the other replica
  // takes over from status (its recommendations and lastScaleTime), with no extra scale, and goes
  // down when that window ends, not a whole window after the takeover.
  const leader = await holder();
  await sleep(DELETE_AFTER_S * 1000);
  const lease = watchLease();
  await kubectl('-n', NS, 'delete', 'pod', leader, '--wait=false');
  const deletedAt = Date.now();
  const takeover = await eventually(
    'another Lease holder',
    () =>
      Promise.resolve(lease.seen.find((v) => v.at >= deletedAt && v.holder && v.holder !== leader)),
    20_000,
    100,
  ).finally(() => lease.stop());
  const next = takeover.holder;
  const failoverS = (takeover.at - deletedAt) / 1000;
  const released = lease.seen.some(
    (v) => v.at >= deletedAt && v.at <= takeover.at && v.holder === '',
  );
  // Bound: the 10 s window to show the load gone, the scale-down window, then one cooldown per
  // replica, and 10 s for the scrape, the rule and the 2 s ticks.
  const firstDownS = P95_WINDOW_S + DOWN_WINDOW_S + 10;
  const boundS = firstDownS + (EXPECTED - 2) * COOLDOWN_S + 15;
  await eventually(
    'back to 1 replica',
    async () => {
      await sample();
      return timeline.at(-1)!.replicas === 1 ? true : undefined;
    },
    Math.max(0, start + (loadEnd + boundS) * 1000 - Date.now()),
    2000,
  ).catch(() => undefined); // asserted below, with the timeline printed
  const downs = await events('ScaledDown');
  const downAt = downs.map((e) => Date.parse(e.firstTimestamp));
  const backAt = timeline.find((s) => s.t > loadEnd && s.replicas === 1)?.t;
  console.log(
    `k6 ${VUS} VUs: p95 ${k6.p95.toFixed(1)} ms over the run, ${k6.requests} requests, failed ${(k6.failedRate * 100).toFixed(2)} %\n` +
      `leader ${killed?.pod ?? '-'} killed ${killed && upAt[0] !== undefined ? ((killed.at - upAt[0]) / 1000).toFixed(1) : '-'} s after the scale-up (cooldown ${COOLDOWN_S} s)\n` +
      `leader ${leader} deleted ${DELETE_AFTER_S} s after the load stopped; ${next} took over in ${failoverS.toFixed(1)} s\n` +
      `first step down ${downAt[0] === undefined ? 'never' : `${((downAt[0] - loadEndAt) / 1000).toFixed(0)} s`} after the load stopped (bound ${firstDownS} s)\n` +
      `back to 1 replica ${backAt === undefined ? 'never' : `${backAt - loadEnd} s`} after the load stopped (bound ${boundS} s)\n` +
      `t(s) replicas p95(ms, Prometheus)\n${timeline.map((s) => `${String(s.t).padStart(4)} ${s.replicas} ${Number.isNaN(s.p95) ? '-' : s.p95.toFixed(1)}`).join('\n')}\n` +
      [...ups, ...downs].map((e) => `${e.firstTimestamp} ${e.reason}: ${e.message}`).join('\n'),
  );

  expect(k6.failedRate).toBeLessThan(0.01);
  expect(Math.max(...timeline.filter((s) => s.t <= loadEnd).map((s) => s.replicas))).toBe(EXPECTED); // never more than the model needs
  for (const s of atPeak) expect(s.replicas).toBe(EXPECTED);
  for (const s of atPeak) expect(s.p95).toBeLessThan(100); // latency recovered
  // One step, 1 -> 3, and no other: none from the second operator, none from the new leader.
  expect(ups.map((e) => / (\d+) -> (\d+) replicas$/.exec(e.message)?.slice(1).join('->'))).toEqual([
    `1->${EXPECTED}`,
  ]);
  // Killed within 10 s of the scale-up (Event times are whole seconds), and no step of any kind
  // in that scale's cooldown: the new leader read it from status.
  expect(killed).toBeDefined();
  expect(killed!.at - upAt[0]!).toBeLessThan(10_000);
  for (const at of downAt) expect(at - upAt[0]!).toBeGreaterThanOrEqual(COOLDOWN_S * 1000);
  // The first step down when the window kept in status allowed it: a leader that had lost it
  // would have waited a whole window after the takeover (DELETE_AFTER_S + DOWN_WINDOW_S).
  expect(downAt[0]! - loadEndAt).toBeLessThanOrEqual(firstDownS * 1000);
  // Down one at a time to 1, one Event each: no extra scale from the failover.
  expect(
    downs.map((e) => / (\d+) -> (\d+) replicas$/.exec(e.message)?.slice(1).join('->')),
  ).toEqual(Array.from({ length: EXPECTED - 1 }, (_, i) => `${EXPECTED - i}->${EXPECTED - i - 1}`));
  for (let i = 1; i < downs.length; i++) {
    // the cooldown kept across the failover (Event times are whole seconds)
    expect(
      Date.parse(downs[i]!.firstTimestamp) - Date.parse(downs[i - 1]!.firstTimestamp),
    ).toBeGreaterThanOrEqual((COOLDOWN_S - 1) * 1000);
  }
  expect(backAt).toBeDefined();
  expect(backAt! - loadEnd).toBeLessThanOrEqual(boundS);
  // Released on SIGTERM: the other replica's next try (every ${LEASE.retrySeconds} s) takes it, long before
  // the lease duration an expiry would need (the frozen leader's test below).
  expect(failoverS).toBeLessThan(LEASE.retrySeconds + 3);
  expect(released).toBe(true); // holderIdentity cleared by the leader on its way out
  // The status is written first and the scale second, so currentReplicas shows the new count at
  // the next tick (2 s): read it once the operator has had that tick (a CI run read it in between).
  const final = await eventually(
    'status.currentReplicas 1',
    async () => {
      const now = await status();
      return now.currentReplicas === 1 ? now : undefined;
    },
    15_000,
  ).catch(() => status());
  expect(final).toMatchObject({ currentReplicas: 1, lastScaleTime: expect.any(String) });
}, 420_000);

test('dryRun: decides and records, never writes the scale; paused: holds and says so', async () => {
  // minReplicas 2 would scale 1 -> 2 at once (BelowMinReplicas): in a dry run it must not.
  await patch({ dryRun: true, minReplicas: 2 });
  const seen = await eventually(
    'the dry-run decision',
    async () => {
      const s = await status();
      return s.desiredReplicas === 2 && s.lastDecision?.message.startsWith('dry run')
        ? s
        : undefined;
    },
    30_000,
  );
  const dry = await watchReplicas(12);
  const [would] = await events('WouldScale');
  console.log(
    `dryRun: ${seen.lastDecision?.reason}: ${seen.lastDecision?.message}; replicas over 12 s: ${dry.join(' ')}; Event ${would?.reason}: ${would?.message}`,
  );
  expect(dry.every((n) => n === 1)).toBe(true);
  expect(would?.message).toContain('dry run');

  await patch({ dryRun: false, paused: true });
  const active = await eventually(
    'ScalingActive=False Paused',
    async () => {
      const c = await conditionOf('ScalingActive');
      return c?.reason === 'Paused' ? c : undefined;
    },
    30_000,
  );
  const held = await watchReplicas(12);
  console.log(
    `paused: ${active.status} ${active.reason}: ${active.message}; replicas over 12 s: ${held.join(' ')}`,
  );
  expect(active.status).toBe('False');
  expect(held.every((n) => n === 1)).toBe(true);

  // Unpaused, the same spec scales at once: the pause (and the dry run) were what held it.
  await patch({ paused: false });
  await eventually(
    'replicas 2 (BelowMinReplicas)',
    async () => ((await replicas()) === 2 ? true : undefined),
    30_000,
  );
}, 120_000);

test('Prometheus down: the operator holds the replicas and says why (MetricAvailable=False, an Event)', async () => {
  // 2 replicas, min back to 1, no traffic: with Prometheus up this would go down to 1 after the
  // scale-down window. With no answer it must hold.
  await kubectl('-n', MONITORING, 'scale', 'deploy/prometheus', '--replicas=0');
  await patch({ minReplicas: 1 });
  const condition = await eventually(
    'MetricAvailable=False',
    async () => {
      const c = await conditionOf('MetricAvailable');
      return c?.status === 'False' && c.reason === 'PrometheusUnavailable' ? c : undefined;
    },
    60_000,
  );
  const samples = await watchReplicas(DOWN_WINDOW_S + 10);
  const [warning] = await events('MetricUnavailable');
  console.log(
    `Prometheus down: ${condition.reason}: ${condition.message}\nEvent ${warning?.type} ${warning?.reason}: ${warning?.message}\nreplicas over ${DOWN_WINDOW_S + 10} s: ${samples.join(' ')}`,
  );
  expect(samples.every((n) => n === 2)).toBe(true);
  expect(warning).toMatchObject({ type: 'Warning', message: expect.stringContaining('holding') });
  await kubectl('-n', MONITORING, 'scale', 'deploy/prometheus', '--replicas=1');
}, 180_000);

test("a LatencyScaler that targets the operator's own Deployment is refused, with a condition", async () => {
  await kubectlStdin(
    JSON.stringify({
      apiVersion: 'selfops.kube-selfops.dev/v1alpha1',
      kind: 'LatencyScaler',
      metadata: { name: 'itself' },
      spec: { targetRef: { name: 'latency-operator' }, maxReplicas: 3 },
    }),
    '-n',
    NS,
    'apply',
    '-f',
    '-',
  );
  const active = await eventually(
    'ScalingActive=False TargetRefused',
    async () => {
      const c = await conditionOf('ScalingActive', 'itself');
      return c?.reason === 'TargetRefused' ? c : undefined;
    },
    30_000,
  );
  console.log(`${active.reason}: ${active.message}`);
  expect(active.status).toBe('False');
  expect(
    Number(
      await kubectl('-n', NS, 'get', 'deploy/latency-operator', '-o', 'jsonpath={.spec.replicas}'),
    ),
  ).toBe(2);
}, 60_000);

test('a leader that stops without releasing the Lease (frozen, SIGSTOP) is taken over by the other replica only once the Lease expires', async () => {
  // An expiry, not a release: the standby waits for the record to stand still for the lease
  // duration on its own clock. The leader renewed at most a try ago, so that is 13-19 s here.
  const leader = await eventually(
    'a Lease holder',
    async () => (await holder()) || undefined,
    30_000,
  );
  const other = (await operatorPods()).find((pod) => pod !== leader);
  expect(other).toBeDefined();
  const lease = watchLease();
  await sleep(1000);
  await signalOperator(leader, 'STOP');
  const frozenAt = Date.now();
  let takeover: { at: number; holder: string };
  try {
    takeover = await eventually(
      'the other replica to take over',
      () => Promise.resolve(lease.seen.find((v) => v.at >= frozenAt && v.holder === other)),
      40_000,
      100,
    );
  } finally {
    await signalOperator(leader, 'CONT');
  }
  await sleep(2 * LEASE.retrySeconds * 1000); // resumed, the old leader reads the Lease again
  lease.stop();
  const seconds = (takeover.at - frozenAt) / 1000;
  const after = lease.seen.filter((v) => v.at >= frozenAt);
  console.log(
    `${leader} frozen; ${other} took over after ${seconds.toFixed(1)} s (lease ${LEASE.leaseDurationSeconds} s, a try every ${LEASE.retrySeconds} s); holders since: ${[...new Set(after.map((v) => v.holder || '(none)'))].join(', ')}`,
  );
  expect(seconds).toBeGreaterThanOrEqual(LEASE.leaseDurationSeconds - LEASE.retrySeconds - 1);
  expect(seconds).toBeLessThan(LEASE.leaseDurationSeconds + 2 * LEASE.retrySeconds + 2);
  expect(after.every((v) => v.holder !== '')).toBe(true); // never released: it expired
  expect(after.filter((v) => v.at > takeover.at).every((v) => v.holder === other)).toBe(true); // resumed, the old leader stands by
}, 90_000);

test('SIGTERM: the leader releases the Lease (holderIdentity cleared), the other replica takes over at once, and it stops cleanly, well within its 10 s grace period', async () => {
  const pod = await holder();
  const logs = kubectl('-n', NS, 'logs', '-f', pod); // ends when the container does
  const lease = watchLease();
  await sleep(500);
  const start = Date.now();
  await kubectl('-n', NS, 'delete', 'pod', pod, '--wait=true');
  const seconds = (Date.now() - start) / 1000;
  const takeover = await eventually(
    'another Lease holder',
    () => Promise.resolve(lease.seen.find((v) => v.at >= start && v.holder && v.holder !== pod)),
    20_000,
    100,
  ).finally(() => lease.stop());
  const released = lease.seen.find((v) => v.at >= start && v.holder === '');
  console.log(
    `released ${released ? `${((released.at - start) / 1000).toFixed(1)} s` : 'never'} after the delete; ${takeover.holder} took over after ${((takeover.at - start) / 1000).toFixed(1)} s`,
  );
  expect(released).toBeDefined();
  expect(released!.at).toBeLessThanOrEqual(takeover.at);
  expect((takeover.at - start) / 1000).toBeLessThan(LEASE.retrySeconds + 3); // a release, not an expiry (the test above)
  const lines = (await logs)
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { msg: string });
  console.log(
    `kubectl delete ${pod}: ${seconds.toFixed(1)} s; last log lines: ${lines
      .slice(-3)
      .map((l) => l.msg)
      .join(' | ')}`,
  );
  const messages = lines.map((l) => l.msg);
  expect(messages).toContain('shutting down');
  expect(messages.at(-1)).toBe('stopped');
  expect(seconds).toBeLessThan(5);
}, 60_000);
