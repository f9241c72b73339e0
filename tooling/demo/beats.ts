/**
 * The live part of the talk (slides/talk.md, ../shared story), as data: a list of beats, each a
 * list of commands with what the presenter says. tooling/demo/main.ts shows each command, waits
 * for Enter (or not, with --auto) and runs it; a few commands check their own output, so a
 * rehearsal (or CI) that goes wrong says where.
 *
 * Every beat sets up what it needs itself (`setup`, not shown), so `./kit demo --from BEAT`
 * restarts at any beat after a stage accident.
 */
import { thresholdMs } from '../lib/manifests.ts';

/** What the commands may refer to: decided once from the options (main.ts). */
export interface Ctx {
  /** The Docker beats' published port on 127.0.0.1. */
  port: number;
  /** The app on the cluster, from this machine (the kit's NodePort, or a port-forward). */
  app: string;
  /** Prometheus on the cluster, from this machine. */
  prometheus: string;
  /** How `./kit up` reaches the cluster: `--cluster` or `--context NAME`. */
  on: string;
  /** Where the demo leaves its files (out/demo). */
  out: string;
}

type Text = string | ((c: Ctx) => string);

export interface ShellStep {
  /** What the presenter says before the command (printed as a comment). */
  say?: string;
  /** The command, as shown and as run by bash from the repository root. */
  sh: Text;
  /** Run without showing it (waits, clean-up). */
  hidden?: boolean;
  /** For a hidden step that takes a while: what the presenter is waiting for (printed dimmed). */
  note?: string;
  /** The output (stdout and stderr) must match, or the demo stops in --auto (a warning otherwise). */
  expect?: RegExp;
  /** A check of the output: a message when it is wrong. */
  check?: (output: string) => string | undefined;
  /** The command may exit non-zero (e.g. a loop that ends when the app dies). */
  mayFail?: boolean;
}

/** Load on /slow with a live timeline; on the operator beat also the plot and summary.json. */
export interface LoadStep {
  say?: string;
  load: {
    vus: number;
    seconds: number;
    /** Seconds of quiet sampled before the load, to show the baseline. */
    idleS: number;
    /** After the heavy load, light traffic until the replicas are back at minReplicas (at most maxSeconds). */
    light?: { perSecond: number; maxSeconds: number };
    /** The operator beat: read the LatencyScaler, write out/demo/operator.png and summary.json. */
    record?: boolean;
    /** k6's p95 must be over or under the threshold (the scale-by-hand beat). */
    p95?: 'over' | 'under';
  };
}

/** Restart port-forwards on a cluster of your own (--context); nothing on the kit's cluster. */
export interface ForwardStep {
  forward: true;
}

export type Step = ShellStep | LoadStep | ForwardStep;

export interface Beat {
  id: string;
  title: string;
  /** The story beat it plays (../shared/story.md), for the presenter. */
  story: string;
  /** Needs a Kubernetes cluster. */
  cluster: boolean;
  /** Loads the app to show what more replicas do: needs an address that spreads the load over them. */
  scales?: boolean;
  /** Brings the machine to the state the beat starts from; idempotent, not shown. */
  setup?: Text;
  steps: Step[];
}

export const THRESHOLD_MS = thresholdMs();
/** The load of the operator beat: 6 closed loops on /slow (see metrics.ts, replicasNeeded). */
export const OPERATOR_LOAD = {
  vus: 6,
  seconds: 140,
  idleS: 10,
  light: { perSecond: 5, maxSeconds: 180 },
};

const SEED = 7; // the LUCKY_SEED whose first lucky visitor (the crash in 1.0.0) is hit 128
const DOCKER_BASE =
  'docker rm -f demo-app >/dev/null 2>&1; docker network inspect demo-net >/dev/null 2>&1 || docker network create demo-net >/dev/null; ' +
  'docker container inspect demo-redis >/dev/null 2>&1 || docker run -d --name demo-redis --network demo-net redis:7-bookworm >/dev/null';
/** The step 04 operator and its resources, which would scale the earlier steps' Deployment. */
const NO_OPERATOR =
  'kubectl -n hits delete deploy/latency-operator --ignore-not-found >/dev/null 2>&1; ' +
  'kubectl -n hits delete latencyscalers --all --ignore-not-found >/dev/null 2>&1; true';
/**
 * The demo's hidden waits: CONDITION (a shell command) until it succeeds, SECONDS at most, with the
 * kit's one shell wait (`wait_until` in tooling/lib.sh); exits 1 when the time runs out (the runner
 * then stops with the command). CONDITION runs in a plain bash (no pipefail: `| grep -q` is safe)
 * that knows lib.sh's prom_query.
 */
const quoted = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const poll = (seconds: number, condition: string) =>
  `source tooling/lib.sh && export -f prom_query && wait_until ${seconds} bash -c ${quoted(condition)}`;
/** The old pod of a rollout is gone (steps 00-01 ignore SIGTERM: it takes the 30 s grace period). */
const onePod = poll(
  60,
  '[ "$(kubectl -n hits get pods -l app.kubernetes.io/name=hits -o name | wc -l)" = 1 ]',
);
const ONE_POD_NOTE =
  'the old pod takes its whole 30 s grace period to go: a shell as PID 1 ignores SIGTERM, as the stop beat shows';
/**
 * The app answers and is ready to count: step 00 has no /status (a 404, which counts no hit); from
 * step 01 on, /status says Redis is connected (the app starts before its Redis connection, and a
 * hit before it is a 503). The rule of tooling/deploy.ts's wait for the NodePort.
 */
export const appReady = (url: string) =>
  poll(20, `curl -s -w ' %{http_code}' ${url}/status | grep -qE '"redis":"connected"| 404$'`);
const hits = (url: string, n: number) =>
  `for i in $(seq 1 ${n}); do curl -s -o /dev/null -w '%{http_code}\\n' ${url}/; done | sort | uniq -c`;
/**
 * Before a load: the Service reaches the new version only (the old pod of the last rollout is
 * gone, and kube-proxy has caught up: a run started k6 as the old step 01 pod terminated and got
 * 404s on /slow and 15 s of refused connections), and Prometheus scrapes it (a fresh Prometheus
 * takes ~40 s, which the first load's timeline showed as "no data").
 */
const LOAD_READY_NOTE =
  'waiting until only the new version answers, five times in a row, and Prometheus scrapes it';
// /check/ready (steps 02 on; 404 in 00-01) is not traffic to the app's latency histogram: five
// /slow on a fresh pod once recorded a p95 of 105 ms, and the operator scaled before the load.
const loadReady = (c: Ctx) =>
  `(${onePod}) && ` +
  `(${poll(60, `[ "$(for j in 1 2 3 4 5; do curl -s -o /dev/null -w '%{http_code} ' ${c.app}/check/ready; done)" = '200 200 200 200 200 ' ]`)}) && ` +
  `(${poll(90, `prom_query ${c.prometheus} 'app:requests:rate_30s{namespace="hits",app="hits"}' | grep -q '"value"'`)})`;
/** Waits until the app's container has restarted at least N times (kubelet backs off 10 s before the second). */
const restartsReach = (n: number) =>
  poll(
    60,
    `[ "$(kubectl -n hits get pods -l app.kubernetes.io/name=hits -o jsonpath='{.items[0].status.containerStatuses[0].restartCount}')" -ge ${n} ] 2>/dev/null`,
  );
/** Seconds of bash's `time` output ("real\t0m10.391s"). */
export function realSeconds(output: string): number | undefined {
  const match = /real\s+(\d+)m([\d.]+)s/.exec(output);
  return match ? Number(match[1]) * 60 + Number(match[2]) : undefined;
}
const stopTook = (want: 'slow' | 'fast') => (output: string) => {
  const s = realSeconds(output);
  if (s === undefined) return 'no "real" time in the output';
  if (want === 'slow' && s < 9) return `docker stop took ${s} s: expected the 10 s grace period`;
  if (want === 'fast' && s >= 1) return `docker stop took ${s} s: expected well under 1 s`;
  return undefined;
};
/** The app pods of `kubectl get pods` (default columns): name, ready, status, restarts. */
export function podRows(
  output: string,
): Array<{ name: string; ready: string; status: string; restarts: number }> {
  return [...output.matchAll(/^(hits-\S+)\s+(\d+\/\d+)\s+(\S+)\s+(\d+)/gm)].map((m) => ({
    name: m[1]!,
    ready: m[2]!,
    status: m[3]!,
    restarts: Number(m[4]),
  }));
}
/** One app pod that has restarted at least N times. */
export const restartedAtLeast = (n: number) => (output: string) => {
  const pods = podRows(output);
  if (pods.length !== 1) return `expected one app pod, got ${pods.length}`;
  return pods[0]!.restarts >= n
    ? undefined
    : `RESTARTS is ${pods[0]!.restarts}, expected at least ${n}`;
};
/** One app pod, Running and ready, never restarted. */
export const notRestarted = (output: string) => {
  const pods = podRows(output);
  return pods.length === 1 &&
    pods[0]!.ready === '1/1' &&
    pods[0]!.status === 'Running' &&
    pods[0]!.restarts === 0
    ? undefined
    : 'expected one pod, 1/1 Running, 0 restarts';
};
/** Only the shell's line: the app's own output went to /tmp/app.log. */
export const onlyStarting = (output: string) =>
  output.trim() === 'starting hits...' ? undefined : 'expected only "starting hits..."';

export const BEATS: Beat[] = [
  {
    id: 'crash',
    title: 'Step 00 in Docker: it works on my laptop, until it crashes',
    story: 'beats 2-3: the developer hands over 1.0.0; operations runs it, and it dies',
    cluster: false,
    setup: DOCKER_BASE,
    steps: [
      {
        say: "The developer's version 1.0.0, built from its folder.",
        sh: 'docker build -q -t hits:1.0.0 steps/00-broken-app',
      },
      {
        sh: (c) =>
          `docker run -d --name demo-app --network demo-net -p 127.0.0.1:${c.port}:8080 -e REDIS_URL=redis://demo-redis:6379 -e LUCKY_SEED=${SEED} hits:1.0.0`,
      },
      { hidden: true, sh: (c) => appReady(`http://127.0.0.1:${c.port}`) },
      {
        say: 'Operations refreshes the page. 300 times.',
        sh: (c) =>
          `for i in $(seq 1 300); do curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:${c.port}/ || break; done | sort | uniq -c`,
        expect: /\d+ 000/,
      },
      { hidden: true, sh: 'timeout 20 docker wait demo-app >/dev/null' }, // the state a moment after the crash
      {
        say: 'It stopped answering. What does Docker know?',
        sh: "docker ps -a --filter 'name=^demo-app$' --format '{{.Names}}\\t{{.Status}}'",
        expect: /demo-app\s+Exited \(1\)/,
      },
      { sh: 'docker logs demo-app', check: onlyStarting },
      {
        say: 'The cause is in a log file inside the dead container: copy it out while it still exists.',
        sh: 'docker cp demo-app:/tmp/app.log - | tar -xO | tail -n 8',
        expect: /TypeError: Cannot read properties of undefined/,
      },
    ],
  },
  {
    id: 'restarts',
    title: 'Step 00 on Kubernetes: the restart count rises, and kubectl logs says nothing',
    story:
      'beats 4-5: operations runs it on Kubernetes instead; it keeps crashing, no logs anywhere',
    cluster: true,
    setup: NO_OPERATOR,
    steps: [
      {
        say: 'Operations refuses to restart it by hand: Kubernetes will.',
        sh: (c) => `./kit up 00 ${c.on}`,
      },
      {
        say: 'The same lucky seed as on the laptop, so the crash comes at the same hit.',
        sh: `kubectl -n hits set env deploy/hits LUCKY_SEED=${SEED} && kubectl -n hits rollout status deploy/hits --timeout=180s`,
      },
      { hidden: true, sh: onePod, note: ONE_POD_NOTE },
      { forward: true },
      { hidden: true, sh: (c) => appReady(c.app) },
      {
        say: 'Operations refreshes the page, 300 times, on Kubernetes now.',
        sh: (c) => hits(c.app, 300),
        mayFail: true,
      },
      { hidden: true, sh: restartsReach(1) },
      {
        say: 'Kubernetes restarted it.',
        sh: 'kubectl -n hits get pods -l app.kubernetes.io/name=hits',
        check: restartedAtLeast(1),
      },
      { forward: true }, // a port-forward (--context) goes to the container that died
      { hidden: true, sh: (c) => appReady(c.app) },
      {
        say: 'And again: it dies at the same hit, and the restart count rises.',
        sh: (c) => hits(c.app, 300),
        mayFail: true,
      },
      {
        hidden: true,
        sh: restartsReach(2),
        note: 'Kubernetes backs off: 10 s before the second restart',
      },
      { sh: 'kubectl -n hits get pods -l app.kubernetes.io/name=hits', check: restartedAtLeast(2) },
      { forward: true },
      { hidden: true, sh: (c) => appReady(c.app) },
      {
        say: 'The developer: /status shows what is going on. It is a 404.',
        sh: (c) => `curl -s -o /dev/null -w '%{http_code}\\n' ${c.app}/status`,
        expect: /^404$/m,
      },
      {
        say: 'To the logs, then: what did the container that died say?',
        sh: 'kubectl -n hits logs deploy/hits --previous',
        check: onlyStarting,
      },
    ],
  },
  {
    id: 'logs',
    title: 'Step 01: logs on stdout show the cause',
    story: 'beats 5-6: log to stdout, read the logs, fix the app',
    cluster: true,
    setup: NO_OPERATOR,
    steps: [
      {
        say: 'Version 1.1.0 logs JSON to stdout, and the lucky visitor no longer kills it.',
        sh: (c) => `./kit up 01 ${c.on}`,
      },
      {
        sh: `kubectl -n hits set env deploy/hits LUCKY_SEED=${SEED} && kubectl -n hits rollout status deploy/hits --timeout=180s`,
      },
      { hidden: true, sh: onePod, note: ONE_POD_NOTE },
      { forward: true },
      { hidden: true, sh: (c) => appReady(c.app) },
      { sh: (c) => hits(c.app, 300), expect: /^\s*300 200$/m },
      { sh: 'kubectl -n hits get pods -l app.kubernetes.io/name=hits', check: notRestarted },
      {
        say: "The lucky visitors are log lines now; the first, this replica's hit 128, killed 1.0.0 (visitor: the shared counter):",
        sh: 'kubectl -n hits logs deploy/hits | grep lucky',
        expect: /lucky visitor, but no prizes to give/,
      },
    ],
  },
  {
    id: 'stop',
    title: '`time docker stop`: 10 s with a shell as PID 1, well under 1 s after step 02',
    story: 'beat 6: "Kubernetes makes redeploys slow" - the app ignores SIGTERM',
    cluster: false,
    setup: DOCKER_BASE,
    steps: [
      {
        say: 'Step 01 still starts node from a shell-form entrypoint.',
        sh: 'docker build -q -t hits:1.1.0 steps/01-logging-fixed',
      },
      {
        sh: 'docker run -d --name demo-app --network demo-net -e REDIS_URL=redis://demo-redis:6379 hits:1.1.0',
      },
      {
        hidden: true,
        sh: poll(10, 'docker top demo-app -o pid,args 2>/dev/null | grep -q "node dist/server.js"'),
      },
      { sh: 'docker top demo-app -o user,pid,ppid,args --forest', expect: /\/bin\/sh/ },
      { sh: 'time docker stop demo-app', check: stopTook('slow') },
      {
        say: 'Step 02: exec form, node is PID 1 and handles SIGTERM.',
        sh: 'docker rm demo-app && docker build -q -t hits:1.2.0 steps/02-pid1-fixed',
      },
      {
        sh: 'docker run -d --name demo-app --network demo-net -e REDIS_URL=redis://demo-redis:6379 hits:1.2.0',
      },
      { hidden: true, sh: poll(10, 'docker logs demo-app 2>&1 | grep -q listening') },
      {
        sh: 'docker top demo-app -o user,pid,ppid,args',
        check: (out) => (/\/bin\/sh/.test(out) ? 'a shell is still in the container' : undefined),
      },
      { sh: 'time docker stop demo-app', check: stopTook('fast') },
      {
        hidden: true,
        sh: 'docker rm -f demo-app demo-redis >/dev/null 2>&1; docker network rm demo-net >/dev/null 2>&1; true',
      },
    ],
  },
  {
    id: 'scale-by-hand',
    title: 'Step 03 under load: latency rises; `kubectl scale` brings it down',
    story: 'beats 7-8: load the app, watch the graph; the developer scales by hand and is told off',
    cluster: true,
    scales: true,
    setup: NO_OPERATOR,
    steps: [
      {
        say: 'Step 03 exports request_latency_seconds; Prometheus records its p95.',
        sh: (c) => `./kit up 03 ${c.on}`,
      },
      {
        sh: 'kubectl -n hits scale deploy/hits --replicas=1 && kubectl -n hits rollout status deploy/hits --timeout=180s',
      },
      { forward: true },
      { hidden: true, sh: loadReady, note: LOAD_READY_NOTE },
      {
        say: 'while true; do curl /slow; done - six times over: k6, 6 closed loops on one replica.',
        load: { vus: 6, seconds: 45, idleS: 0, p95: 'over' },
      },
      {
        say: 'The developer scales by hand...',
        sh: 'kubectl -n hits scale deploy/hits --replicas=3 && kubectl -n hits rollout status deploy/hits --timeout=180s',
      },
      { load: { vus: 6, seconds: 45, idleS: 0, p95: 'under' } },
      {
        say: '...and operations asks who will do that at 3 a.m.',
        sh: 'kubectl -n hits scale deploy/hits --replicas=1',
      },
    ],
  },
  {
    id: 'operator',
    title: 'Step 04: the operator scales on latency, and back down after the rush',
    story: 'beat 9: the LatencyScaler lets operations sleep',
    cluster: true,
    scales: true,
    // A LatencyScaler left by an earlier run would remember its last scale (cooldown), and its
    // Events (kept an hour) would mix with this run's; an interrupted run may have left replicas
    // that step 04's manifest (no `replicas`) would keep.
    setup:
      'kubectl -n hits delete latencyscalers --all --ignore-not-found >/dev/null 2>&1; ' +
      'kubectl -n hits delete events --field-selector involvedObject.kind=LatencyScaler >/dev/null 2>&1; ' +
      'kubectl -n hits scale deploy/hits --replicas=1 >/dev/null 2>&1; true',
    steps: [
      {
        say: 'The app with its LatencyScaler, and the operator that reconciles it.',
        sh: (c) => `./kit up 04 ${c.on}`,
      },
      { forward: true },
      { hidden: true, sh: loadReady, note: LOAD_READY_NOTE },
      { sh: 'kubectl -n hits get latencyscaler hits' },
      {
        say: 'Rush hour on /slow, then normal traffic. Watch the replicas follow the p95.',
        load: { ...OPERATOR_LOAD, record: true },
      },
      {
        say: 'What the operator did, in its Events:',
        sh: 'kubectl -n hits get events --field-selector involvedObject.kind=LatencyScaler --sort-by=.lastTimestamp',
      },
      { sh: (c) => `cat ${c.out}/summary.json` },
    ],
  },
];
