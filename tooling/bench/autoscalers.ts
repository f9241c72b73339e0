/**
 * `./kit bench autoscalers`: the same app, cluster and load, scaled by each autoscaler in turn:
 *   none      no autoscaler (1 replica throughout): the baseline
 *   operator  step 04's LatencyScaler and its operator
 *   hpa       an autoscaling/v2 HPA on the same p95, through prometheus-adapter (k8s/hpa)
 *   keda      KEDA's ScaledObject on the same p95 (k8s/keda), its Prometheus scaler; by default
 *             only where tooling/install/keda.sh has built it (15 min, once); `--autoscalers keda` builds it
 * Each run: clear every autoscaler, scale the app to 1 replica and wait until Prometheus has no
 * slow p95 left from the run before, install this run's autoscaler (maxReplicas 8), run the load
 * profile (load/bench.js), record the Deployment's replicas every second and Prometheus' p95 at
 * every second, and compute the figures of tooling/bench/metrics.ts with k6's share under 100 ms
 * and failed requests. Writes OUT/autoscalers.json (the runs), OUT/autoscalers-timelines.json (what
 * they were computed from), OUT/autoscalers.png, and prints a table of the medians. With --merge,
 * the runs already in OUT of the autoscalers and profiles not run now are kept (their timelines
 * carry their start times), so one autoscaler can be added or measured again without the others.
 *
 *   node tooling/bench/autoscalers.ts [--runs 3] [--profile closed|open|both] [--autoscalers none,operator,hpa,keda] [--merge]
 *
 * Expects what `./kit bench autoscalers` sets up first: `./kit up 04 --cluster` (app, Prometheus,
 * operator, NodePorts 30080/30090) and k8s/prometheus-adapter; kubectl and KUBECONFIG on PATH.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { CHART_FONT, renderChart, type TopLevelSpec } from '../lib/chart.ts';
import { eventually } from '../lib/eventually.ts';
import { activeTargets, query, queryRange } from '../lib/prometheus.ts';
import {
  THRESHOLD_MS,
  medianTable,
  mergeRuns,
  timelineFigures,
  type BenchRun,
  type Sample,
} from './metrics.ts';
import { kubectl as kubectlRun, progress } from './shell.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const execFileAsync = promisify(execFile);
const KIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const NS = 'hits';
const AUTOSCALERS = ['none', 'operator', 'hpa', 'keda'] as const;
type Autoscaler = (typeof AUTOSCALERS)[number];
type Profile = 'closed' | 'open';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    profile: { type: 'string', default: 'both' },
    autoscalers: { type: 'string' },
    merge: { type: 'boolean', default: false },
    max: { type: 'string', default: '8' },
    target: { type: 'string', default: 'http://127.0.0.1:30080' },
    prometheus: { type: 'string', default: 'http://127.0.0.1:30090' },
    out: { type: 'string', default: join(KIT_ROOT, 'load/benchmarks') },
  },
});
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs ${args.runs}: expected a positive integer`);
const profiles: Profile[] =
  args.profile === 'both' ? ['closed', 'open'] : [args.profile as Profile];
if (!profiles.every((p) => p === 'closed' || p === 'open'))
  throw new Error(`--profile ${args.profile}: expected closed, open or both`);
/** Whether tooling/install/keda.sh has built KEDA on this machine (its --built answers with its exit code). */
const kedaBuilt = () =>
  execFileAsync('bash', [join(KIT_ROOT, 'tooling/install/keda.sh'), '--built']).then(
    () => true,
    () => false,
  );
const autoscalers = (
  args.autoscalers ?? `none,operator,hpa${(await kedaBuilt()) ? ',keda' : ''}`
).split(',') as Autoscaler[];
for (const a of autoscalers)
  if (!AUTOSCALERS.includes(a))
    throw new Error(`--autoscalers: unknown ${a} (known: ${AUTOSCALERS.join(', ')})`);
const MAX = Number(args.max);

const kubectl = (...a: string[]) => kubectlRun(a);
const kubectlStdin = (input: string, ...a: string[]) => kubectlRun(a, input);

const P95 = `app:request_latency_seconds:p95_10s{namespace="${NS}",app="hits"}`;

/** Prometheus' active targets of the app's job: where it scrapes, and whether the last scrape worked. */
async function prometheusTargets(): Promise<Array<{ address: string; health: string }>> {
  return (await activeTargets(args.prometheus))
    .filter((t) => t.labels.job === 'hits')
    .map((t) => ({ address: t.discoveredLabels.__address__ ?? '', health: t.health }));
}

// --- autoscalers --------------------------------------------------------------------------------
const EXTERNAL_METRICS = 'v1beta1.external.metrics.k8s.io';
/** Whether KEDA's CRDs are on the cluster (installed by this bench, now or before). */
let kedaInstalled = false;
/** Who serves external.metrics.k8s.io now: the HPA's prometheus-adapter or KEDA's metrics server. */
let externalMetricsOwner: 'adapter' | 'keda' | undefined;
/** KEDA's APIService as k8s/keda renders it, kept by installKeda for each hand-over to KEDA. */
let kedaApiService = '';

/**
 * KEDA as k8s/keda renders it (its images built here first, if no registry answers), with its
 * operator and metrics server at 0 replicas: the APIService they would take over is handed to
 * them only for a KEDA run (useExternalMetrics).
 */
async function installKeda(): Promise<void> {
  progress(
    'KEDA: its images (tooling/install/images.sh; ~15 min the first time: built from its Go module)',
  );
  await execFileAsync(
    join(KIT_ROOT, 'tooling/install/images.sh'),
    ['keda', 'keda-metrics-apiserver'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  await execFileAsync(
    'bash',
    [join(KIT_ROOT, 'tooling/cluster/load.sh'), 'keda', 'keda-metrics-apiserver'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const { stdout } = await execFileAsync(
    'bash',
    [join(KIT_ROOT, 'tooling/install/keda.sh'), '--manifests'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  // Everything but its APIService (the adapter keeps it until a KEDA run), and no pod yet.
  const docs = stdout.split(/^---$/m);
  const isApiService = (doc: string) => /^kind: APIService$/m.test(doc);
  kedaApiService = docs.find(isApiService) ?? '';
  if (!kedaApiService)
    throw new Error('tooling/install/keda.sh --manifests rendered no APIService');
  const manifests = docs.filter((doc) => !isApiService(doc)).join('---\n');
  progress('KEDA: applying k8s/keda (CRDs, namespace keda, RBAC, operator, metrics server)');
  await kubectlStdin(manifests, 'apply', '--server-side', '--force-conflicts', '-f', '-');
  await kubectl(
    'wait',
    '--for=condition=Established',
    'crd/scaledobjects.keda.sh',
    '--timeout=60s',
  );
  await kubectl(
    '-n',
    'keda',
    'scale',
    'deploy/keda-operator',
    'deploy/keda-metrics-apiserver',
    '--replicas=0',
  );
  kedaInstalled = true;
}

/**
 * Hands external.metrics.k8s.io to OWNER. The APIService is deleted and made again, not edited:
 * KEDA's operator writes its CA into it (caBundle), which the adapter's insecureSkipTLSVerify
 * may not be combined with; and KEDA's operator is stopped while the adapter serves it, or it
 * would write that CA back.
 */
async function useExternalMetrics(owner: 'adapter' | 'keda'): Promise<void> {
  if (externalMetricsOwner === owner) return;
  if (owner === 'adapter' && kedaInstalled) {
    await kubectl(
      '-n',
      'keda',
      'scale',
      'deploy/keda-operator',
      'deploy/keda-metrics-apiserver',
      '--replicas=0',
    );
    await eventually(
      'no KEDA pod left',
      async () =>
        (await kubectl('-n', 'keda', 'get', 'pods', '-o', 'name')).trim() === '' ? true : undefined,
      120_000,
    );
  }
  await kubectl('delete', 'apiservice', EXTERNAL_METRICS, '--ignore-not-found', '--wait=true');
  if (owner === 'adapter') {
    await kubectl('apply', '-f', join(KIT_ROOT, 'k8s/prometheus-adapter/apiservice.yaml'));
  } else {
    await kubectlStdin(kedaApiService, 'apply', '-f', '-');
    await kubectl(
      '-n',
      'keda',
      'scale',
      'deploy/keda-operator',
      'deploy/keda-metrics-apiserver',
      '--replicas=1',
    );
    await kubectl(
      '-n',
      'keda',
      'rollout',
      'status',
      'deploy/keda-operator',
      'deploy/keda-metrics-apiserver',
      '--timeout=180s',
    );
  }
  await kubectl(
    'wait',
    '--for=condition=Available',
    `apiservice/${EXTERNAL_METRICS}`,
    '--timeout=180s',
  );
  externalMetricsOwner = owner;
}

/** Removes every autoscaler of deploy/hits (the operator keeps running: without a LatencyScaler it does nothing). */
async function clearAutoscalers(): Promise<void> {
  await kubectl('-n', NS, 'delete', 'hpa', 'hits', '--ignore-not-found', '--wait=true');
  await kubectl('-n', NS, 'delete', 'latencyscaler', 'hits', '--ignore-not-found', '--wait=true');
  // KEDA's operator removes its HPA (keda-hpa-hits) and then its finalizer: it runs while a
  // ScaledObject exists (useExternalMetrics stops it only after this).
  if (kedaInstalled)
    await kubectl(
      '-n',
      NS,
      'delete',
      'scaledobjects.keda.sh',
      'hits',
      '--ignore-not-found',
      '--wait=true',
      '--timeout=120s',
    );
}

/** Installs AUTOSCALER as shipped, with only its replica limits changed to 1..MAX. */
async function install(autoscaler: Autoscaler): Promise<void> {
  const limits = JSON.stringify({ spec: { minReplicas: 1, maxReplicas: MAX } });
  if (autoscaler === 'operator') {
    await kubectl(
      '-n',
      NS,
      'apply',
      '-f',
      join(KIT_ROOT, 'steps/04-operator/deploy/latencyscaler.yaml'),
    );
    await kubectl('-n', NS, 'patch', 'latencyscaler', 'hits', '--type=merge', '-p', limits);
  } else if (autoscaler === 'hpa') {
    await useExternalMetrics('adapter');
    await kubectl('-n', NS, 'apply', '-f', join(KIT_ROOT, 'k8s/hpa/hpa.yaml'));
    await kubectl('-n', NS, 'patch', 'hpa', 'hits', '--type=merge', '-p', limits);
  } else if (autoscaler === 'keda') {
    await useExternalMetrics('keda');
    await kubectl('-n', NS, 'apply', '-f', join(KIT_ROOT, 'k8s/keda/scaledobject.yaml'));
    await kubectl(
      '-n',
      NS,
      'patch',
      'scaledobject',
      'hits',
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { minReplicaCount: 1, maxReplicaCount: MAX } }),
    );
    await kubectl('-n', NS, 'wait', '--for=condition=Ready', 'scaledobject/hits', '--timeout=120s');
  }
}

/**
 * One new replica, ready, no other pod left, scraped by Prometheus, and no slow p95 left in its
 * 10 s window. New, not just one: a replica keeps working through the requests queued for its
 * slots after k6 gave up on them (10 s timeout), and records none of them (no response). After
 * "none", that was ~7,000 requests, ~2.5 min of work: the next run's first requests queued behind
 * them (the first runs of 2026-11-30, where "operator" always followed "none"). A restart gives
 * every autoscaler the same empty start.
 * Scraped, because Prometheus finds the pods through DNS (k8s/prometheus), and the cluster's
 * CoreDNS caches an answer up to 30 s (`ttl 30`, as kubeadm ships it): a run that began right
 * after the restart had no p95 for its first 20-45 s, then a queue's 5 s. The operator held on
 * "no series" meanwhile, the HPA's adapter the same; in the runs of 2026-12-01 02:55 two of the
 * operator's three began so, none of the HPA's.
 */
async function reset(): Promise<void> {
  await clearAutoscalers();
  await kubectl('-n', NS, 'scale', 'deploy/hits', '--replicas=1');
  await kubectl('-n', NS, 'rollout', 'restart', 'deploy/hits');
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/hits', '--timeout=180s');
  await eventually(
    'exactly one hits pod',
    async () => {
      const names = (
        await kubectl('-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=hits', '-o', 'name')
      )
        .trim()
        .split('\n')
        .filter(Boolean);
      return names.length === 1 ? true : undefined;
    },
    120_000,
  );
  const pod = (
    await kubectl(
      '-n',
      NS,
      'get',
      'pods',
      '-l',
      'app.kubernetes.io/name=hits',
      '-o',
      'jsonpath={.items[*].status.podIP}',
    )
  ).trim();
  await eventually(
    `Prometheus to scrape the new pod (${pod}) and no other`,
    async () => {
      const targets = await prometheusTargets().catch(() => undefined);
      return targets?.length === 1 &&
        targets[0]!.address === `${pod}:8080` &&
        targets[0]!.health === 'up'
        ? true
        : undefined;
    },
    120_000,
  );
  // A Prometheus that does not answer for a moment is not an answer: asked again.
  await eventually(
    'no p95 sample from the run before',
    () => query(args.prometheus, P95).then(([sample]) => (sample === undefined ? true : undefined)),
    180_000,
  );
}

// --- one run --------------------------------------------------------------------------------------
interface K6Figures {
  share_under_100ms: number;
  failed: number;
  requests: number;
  dropped: number;
  p95Ms: number;
}
type Run = BenchRun & { autoscaler: Autoscaler; profile: Profile };
interface Timeline {
  autoscaler: Autoscaler;
  run: number;
  profile: Profile;
  start: string;
  samples: Array<Sample & { ready: number }>;
  k6: K6Figures;
}

async function runK6(profile: Profile): Promise<K6Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-bench-'));
  const summary = join(dir, 'summary.json');
  try {
    await execFileAsync(
      join(KIT_ROOT, 'load/k6'),
      ['run', '--quiet', join(KIT_ROOT, 'load/bench.js')],
      {
        // A new connection per request, so kube-proxy (which balances connections) spreads the
        // load over new replicas too, as it would over many clients.
        env: {
          ...process.env,
          PROFILE: profile,
          TARGET: args.target,
          SUMMARY: summary,
          K6_NO_VU_CONNECTION_REUSE: 'true',
        },
        maxBuffer: 64 * 1024 * 1024,
      },
    ).catch((err: { code?: number; stderr?: string }) => {
      if (err.code !== 99) throw new Error(`k6 failed (exit ${err.code}): ${err.stderr ?? ''}`); // 99: thresholds crossed
    });
    const { metrics } = JSON.parse(await readFile(summary, 'utf8')) as {
      metrics: Record<string, { values: Record<string, number> }>;
    };
    return {
      share_under_100ms: metrics.under_100ms?.values.rate ?? NaN,
      failed: metrics.http_req_failed?.values.passes ?? 0,
      requests: metrics.http_reqs?.values.count ?? 0,
      dropped: metrics.dropped_iterations?.values.count ?? 0,
      p95Ms: metrics.http_req_duration?.values['p(95)'] ?? NaN,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function oneRun(autoscaler: Autoscaler, run: number, profile: Profile): Promise<Timeline> {
  progress(`run ${run}, ${profile} loop, ${autoscaler}: resetting to 1 replica`);
  await reset();
  await install(autoscaler);
  progress(`run ${run}, ${profile} loop, ${autoscaler}: load for ~3.5 min`);
  const start = Date.now();
  let done = false;
  const load = runK6(profile).finally(() => (done = true));
  // Replicas once a second, on the second (Prometheus is asked for the same seconds afterwards).
  const replicas: Array<{ t: number; replicas: number; ready: number }> = [];
  for (let t = 0; !done; t++) {
    await sleep(Math.max(0, start + t * 1000 - Date.now()));
    const out = await kubectl(
      '-n',
      NS,
      'get',
      'deploy/hits',
      '-o',
      'jsonpath={.spec.replicas} {.status.readyReplicas}',
    ).catch(() => '');
    const [spec, ready] = out.split(' ').map(Number);
    if (spec !== undefined && !Number.isNaN(spec))
      replicas.push({ t, replicas: spec, ready: ready || 0 });
  }
  const k6 = await load;
  const end = start + (replicas.at(-1)?.t ?? 0) * 1000;
  const [series] = await queryRange(args.prometheus, P95, start / 1000, end / 1000, 1);
  const p95At = new Map(
    (series?.values ?? []).map(([time, value]) => [Math.round(time - start / 1000), value * 1000]),
  );
  const samples = replicas.map((r) => ({ ...r, p95Ms: p95At.get(r.t) ?? null }));
  progress(
    `run ${run}, ${profile} loop, ${autoscaler}: ${k6.requests} requests, ${(k6.share_under_100ms * 100).toFixed(1)} % ≤ 100 ms, ` +
      `failed ${k6.failed}, dropped ${k6.dropped}, peak ${Math.max(...samples.map((s) => s.replicas))} replicas`,
  );
  return { autoscaler, run, profile, start: new Date(start).toISOString(), samples, k6 };
}

// --- output ---------------------------------------------------------------------------------------
function figures(t: Timeline): Run {
  return {
    autoscaler: t.autoscaler,
    run: t.run,
    profile: t.profile,
    share_under_100ms: Number(t.k6.share_under_100ms.toFixed(4)),
    ...timelineFigures(t.samples),
    failed: t.k6.failed,
  };
}

/** One panel per autoscaler (a row per profile): replicas and p95 of its first run, the threshold drawn. */
async function plot(
  timelines: Timeline[],
  order: readonly Autoscaler[],
  file: string,
): Promise<void> {
  const first = timelines.filter((t) => t.run === 1);
  const values = first
    .flatMap((t) =>
      t.samples.flatMap((s) => [
        {
          profile: t.profile,
          autoscaler: t.autoscaler,
          t: s.t,
          series: 'p95 (ms, Prometheus)',
          value: s.p95Ms,
        },
        {
          profile: t.profile,
          autoscaler: t.autoscaler,
          t: s.t,
          series: 'replicas × 50',
          value: s.replicas * 50,
        },
      ]),
    )
    .filter((v) => v.value !== null)
    .map((v) => ({ ...v, value: Math.min(v.value!, 1000) }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'Autoscalers side by side: the same app, cluster and load',
      subtitle: `run 1 of each; p95 capped at 1000 ms in the plot; replicas drawn ×50 (400 = 8 replicas)`,
    },
    background: 'white',
    config: { font: CHART_FONT },
    data: { values },
    facet: {
      row: { field: 'profile', type: 'nominal', title: 'load' },
      column: { field: 'autoscaler', type: 'nominal', title: null, sort: [...order] },
    },
    spec: {
      width: 300,
      height: 180,
      layer: [
        {
          mark: { type: 'line', interpolate: 'step-after' },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'seconds' },
            y: {
              field: 'value',
              type: 'quantitative',
              title: 'p95 ms / replicas × 50',
              scale: { domain: [0, 1000] },
            },
            color: {
              field: 'series',
              type: 'nominal',
              title: null,
              scale: { range: ['#e45756', '#4c78a8'] },
            },
          },
        },
        {
          mark: { type: 'rule', strokeDash: [6, 4], color: '#888' },
          encoding: { y: { datum: THRESHOLD_MS } },
        },
      ],
    },
  };
  await writeFile(file, (await renderChart(spec)).png);
}

// --- main -----------------------------------------------------------------------------------------
await eventually(
  `Prometheus at ${args.prometheus}`,
  () => query(args.prometheus, 'up').then(() => true),
  30_000,
);
kedaInstalled =
  (
    await kubectl('get', 'crd', 'scaledobjects.keda.sh', '--ignore-not-found', '-o', 'name')
  ).trim() !== '';
if (autoscalers.includes('keda')) await installKeda();
if (autoscalers.includes('operator'))
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/latency-operator', '--timeout=60s');
progress(
  `${runs} run(s) × ${profiles.join('+')} × ${autoscalers.join(', ')}: about ${runs * profiles.length * autoscalers.length * 5} min (~5 min a run)`,
);

const timelines: Timeline[] = [];
for (let run = 1; run <= runs; run++) {
  for (const profile of profiles) {
    for (const autoscaler of autoscalers) timelines.push(await oneRun(autoscaler, run, profile));
  }
}
// Back to the step as shipped: the LatencyScaler of deploy/, no HPA; external metrics from the adapter.
await clearAutoscalers();
if (kedaInstalled) await useExternalMetrics('adapter');
await kubectl(
  '-n',
  NS,
  'apply',
  '-f',
  join(KIT_ROOT, 'steps/04-operator/deploy/latencyscaler.yaml'),
);

// --merge: the runs in OUT of what was not run now stay (tooling/bench/metrics.ts: mergeRuns).
const keptFile = join(args.out, 'autoscalers-timelines.json');
const kept =
  args.merge && existsSync(keptFile)
    ? (JSON.parse(await readFile(keptFile, 'utf8')) as { timelines: Timeline[] }).timelines
    : [];
const every = mergeRuns(kept, timelines, ['closed', 'open'], AUTOSCALERS);
const shownProfiles = (['closed', 'open'] as Profile[]).filter((p) =>
  every.some((t) => t.profile === p),
);
const shown = AUTOSCALERS.filter((a) => every.some((t) => t.autoscaler === a));
const old = every.filter((t) => !timelines.includes(t));
if (old.length > 0)
  progress(
    `--merge: kept ${old.length} run(s) (${[...new Set(old.map((t) => `${t.profile} ${t.autoscaler}`))].join(', ')}) from ${keptFile}`,
  );

const all = every.map(figures);
await mkdir(args.out, { recursive: true });
await writeFile(join(args.out, 'autoscalers.json'), JSON.stringify({ runs: all }, null, 2) + '\n');
await writeFile(
  join(args.out, 'autoscalers-timelines.json'),
  JSON.stringify({ timelines: every }) + '\n',
);
await plot(every, shown, join(args.out, 'autoscalers.png'));
console.log(
  `\n${medianTable(all, shownProfiles, shown)}\n\nmedians over runs; wrote ${join(args.out, 'autoscalers.json')}, autoscalers-timelines.json and autoscalers.png`,
);
