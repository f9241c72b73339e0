/**
 * `./kit demo`: runs the beats of tooling/demo/beats.ts as a presenter script. Each command is
 * shown (typed out, on a terminal) and run when the presenter presses Enter; --auto runs straight
 * through. The operator beat shows a live one-line timeline and leaves a plot and summary.json.
 *
 *   node tooling/demo/main.ts [--auto] [--from BEAT] [--only BEAT,...] [--context NAME]
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  checkReach,
  parseDemoArgs,
  selectBeats,
  UsageError,
  USAGE,
  type DemoOptions,
} from './args.ts';
import {
  BEATS,
  THRESHOLD_MS,
  type Beat,
  type Ctx,
  type LoadStep,
  type ShellStep,
  type Step,
} from './beats.ts';
import { durationsFromK6Csv, replicasNeeded, summarize, type Run, type Sample } from './metrics.ts';
import { renderPlot } from './plot.ts';
import { eventually } from '../lib/eventually.ts';
import { query } from '../lib/prometheus.ts';
import { observe, timelineLine, type Observed } from './status.ts';
import { setTimeout as sleep } from 'node:timers/promises';

const KIT_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tty = Boolean(process.stdout.isTTY);
const style = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const [bold, dim, cyan, green, red, yellow] = ['1', '2', '36', '32', '31', '33'].map(style) as [
  (t: string) => string,
  (t: string) => string,
  (t: string) => string,
  (t: string) => string,
  (t: string) => string,
  (t: string) => string,
];
const say = (line: string): void => void process.stdout.write(`${line}\n`);

class DemoError extends Error {}

/** Children that must not outlive the demo (k6, the light traffic, port-forwards). */
const children = new Set<ChildProcess>();
function killAll(): void {
  for (const child of children)
    if (child.pid)
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
  children.clear();
}
process.on('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.on('SIGTERM', () => {
  killAll();
  process.exit(143);
});

/** The presenter's keyboard: one line per Enter; "q" quits. Without a terminal, stdin lines (or EOF) go on. */
let lines: AsyncIterableIterator<string> | undefined;
async function waitEnter(options: DemoOptions): Promise<void> {
  if (options.auto) return;
  process.stdout.write(dim('  ⏎'));
  lines ??= createInterface({ input: process.stdin, terminal: false })[Symbol.asyncIterator]();
  const next = await lines.next();
  if (tty) process.stdout.write('\x1b[1A\x1b[2K');
  else process.stdout.write('\n');
  if (!next.done && next.value.trim() === 'q') throw new DemoError('quit');
}

/** Shows a command: typed out on a terminal when presenting, at once with --auto. */
async function show(command: string, options: DemoOptions): Promise<void> {
  process.stdout.write(bold(green('$ ')));
  if (tty && !options.auto) {
    const delay = Math.min(25, 1200 / command.length); // never more than ~1 s per command
    process.stdout.write('\x1b[1m');
    for (const char of command) {
      process.stdout.write(char);
      await sleep(delay);
    }
    process.stdout.write('\x1b[0m');
  } else {
    process.stdout.write(bold(command));
  }
  process.stdout.write('\n');
}

interface Shell {
  env: NodeJS.ProcessEnv;
  /** Defines kubectl as `kubectl --context NAME` for the commands, on a cluster of your own. */
  prelude: string;
}

/** Runs COMMAND with bash from the repository root; its output goes to the terminal and is returned. */
function runShell(
  shell: Shell,
  command: string,
  echo: boolean,
): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', `${shell.prelude}\n${command}`], {
      cwd: KIT_ROOT,
      env: shell.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const take = (chunk: Buffer) => {
      if (echo) process.stdout.write(chunk);
      if (output.length < 4_000_000) output += chunk.toString();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/** Starts COMMAND in the background, in its own process group (so it can be stopped with its children). */
function background(
  shell: Shell,
  command: string,
  stdout: 'ignore' | 'pipe' = 'ignore',
): ChildProcess {
  const child = spawn('bash', ['-c', `${shell.prelude}\n${command}`], {
    cwd: KIT_ROOT,
    env: shell.env,
    stdio: ['ignore', stdout, stdout],
    detached: true,
  });
  children.add(child);
  child.on('close', () => children.delete(child));
  return child;
}
function stop(child: ChildProcess): void {
  if (child.pid && child.exitCode === null)
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  children.delete(child);
}

/** A failed check stops the demo with --auto (CI, rehearsals); on stage it only warns. */
function verdict(
  step: ShellStep,
  result: { code: number; output: string },
  options: DemoOptions,
): void {
  const problems: string[] = [];
  if (result.code !== 0 && !step.mayFail) problems.push(`exit code ${result.code}`);
  if (step.expect && !step.expect.test(result.output))
    problems.push(`output does not match ${step.expect}`);
  const checked = step.check?.(result.output);
  if (checked) problems.push(checked);
  if (problems.length === 0) return;
  const message = `${problems.join('; ')}`;
  if (options.auto) throw new DemoError(message);
  say(yellow(`  (not as rehearsed: ${message})`));
}

const text = (value: string | ((c: Ctx) => string), ctx: Ctx) =>
  typeof value === 'function' ? value(ctx) : value;

interface Runner {
  options: DemoOptions;
  ctx: Ctx;
  shell: Shell;
  forwards: ChildProcess[];
}

async function runStep(runner: Runner, step: Step): Promise<void> {
  const { options, ctx, shell } = runner;
  if ('forward' in step) return forward(runner);
  if ('load' in step) return runLoad(runner, step);
  const command = text(step.sh, ctx);
  if (step.hidden) {
    if (step.note) say(dim(`  (${step.note})`));
    const result = await runShell(shell, command, false);
    if (result.code !== 0)
      throw new DemoError(`a preparation failed: ${command}\n${result.output}`);
    return;
  }
  if (step.say) say(cyan(`# ${step.say}`));
  await show(command, options);
  await waitEnter(options);
  verdict(step, await runShell(shell, command, true), options);
}

/**
 * On a cluster of your own (--context) without --app-url: port-forwards to the app and to
 * Prometheus. (A port-forward goes to one pod: for the scaling beats, give --app-url of your
 * ingress, which spreads the load over the replicas.)
 */
const FORWARD = { app: 18180, prometheus: 19190 };
async function forward(runner: Runner): Promise<void> {
  const { options, shell } = runner;
  if (!options.context) return;
  runner.forwards.forEach(stop);
  runner.forwards = [];
  const wanted: Array<[string, string]> = [];
  if (!options.appUrl)
    wanted.push([
      `-n hits port-forward svc/hits ${FORWARD.app}:80`,
      `http://127.0.0.1:${FORWARD.app}/status`,
    ]);
  const hasPrometheus =
    (await runShell(shell, 'kubectl -n monitoring get svc prometheus', false)).code === 0;
  if (!options.prometheusUrl && hasPrometheus)
    wanted.push([
      `-n monitoring port-forward svc/prometheus ${FORWARD.prometheus}:9090`,
      `http://127.0.0.1:${FORWARD.prometheus}/-/ready`,
    ]);
  for (const [args, probe] of wanted) {
    runner.forwards.push(background(shell, `kubectl ${args}`));
    await eventually(
      `kubectl ${args} to answer at ${probe}`,
      () => fetch(probe).then(() => true),
      20_000,
      200,
    );
  }
}

// The 10 s p95 the operator reads (k8s/prometheus/rules.yml, group app-demand): the line shows
// what the operator saw, and the seconds it took to come back under the threshold.
const P95 = 'app:request_latency_seconds:p95_10s{namespace="hits",app="hits"}';

/** One number from an instant query; null for "no data", and for no answer. */
async function promNumber(prometheus: string, expr: string): Promise<number | null> {
  const value = (await query(prometheus, expr, 3000).catch(() => []))[0]?.value;
  return value === undefined || !Number.isFinite(value) ? null : value;
}

/** Prometheus's p95 of the app in ms, and when its rule recorded it (epoch ms). */
async function p95Ms(prometheus: string): Promise<{ ms: number | null; at: number | null }> {
  const [value, at] = await Promise.all([
    promNumber(prometheus, P95),
    promNumber(prometheus, `timestamp(${P95})`),
  ]);
  return { ms: value === null ? null : value * 1000, at: at === null ? null : at * 1000 };
}

async function look(shell: Shell, scaler: boolean): Promise<Observed> {
  const what = scaler ? 'deploy/hits latencyscaler/hits' : 'deploy/hits';
  const { code, output } = await runShell(shell, `kubectl -n hits get ${what} -o json`, false);
  if (code !== 0) throw new DemoError(`kubectl -n hits get ${what} failed: ${output.trim()}`);
  const parsed = JSON.parse(output) as { kind: string; items?: never[] };
  return observe(parsed.kind === 'List' ? (parsed as { items: never[] }) : { items: [parsed] });
}

/** The load step: k6 on /slow with a live timeline, light traffic after it, and on the operator beat the record. */
async function runLoad(runner: Runner, step: LoadStep): Promise<void> {
  const { options, ctx, shell } = runner;
  const plan = step.load;
  const out = resolve(KIT_ROOT, ctx.out);
  await mkdir(out, { recursive: true });
  const csv = `${ctx.out}/k6.csv`;
  const summaryFile = `${ctx.out}/k6-summary.json`;
  const k6 = `TARGET=${ctx.app} VUS=${plan.vus} DURATION=${plan.seconds}s K6_NO_VU_CONNECTION_REUSE=true SUMMARY=${summaryFile} load/k6 run --quiet${plan.record ? ` --out csv=${csv}` : ''} load/steady.js`;
  const light = plan.light
    ? `while sleep ${(1 / plan.light.perSecond).toFixed(2)}; do curl -s -o /dev/null ${ctx.app}/; done`
    : undefined;

  if (step.say) say(cyan(`# ${step.say}`));
  await show(k6, options);
  if (light) {
    say(
      cyan('# then, until the replicas are back at minReplicas, normal traffic in the background:'),
    );
    await show(`${light} &`, options);
  }
  await waitEnter(options);

  const scaler = plan.record === true;
  let spec = { thresholdMs: THRESHOLD_MS, minReplicas: 1, maxReplicas: 1, cooldownSeconds: 0 };
  if (scaler) {
    const seen = await look(shell, true);
    spec = { ...spec, ...seen.spec };
    // The p95 of an earlier beat's load must have left Prometheus's 10 s window, or the
    // operator would scale on it before our load even starts.
    await eventually(
      'the p95 of the earlier load to leave the window',
      async () => ((await p95Ms(ctx.prometheus)).ms === null ? true : undefined),
      60_000,
    ).catch((err: Error) => say(err.message));
  }

  const samples: Sample[] = [];
  let t0 = Date.now() + plan.idleS * 1000;
  let phase = plan.idleS > 0 ? 'quiet' : 'load';
  let lastPrinted = '';
  let lastPlain = -Infinity;
  const sample = async () => {
    const [seen, { ms: p95, at }] = await Promise.all([look(shell, scaler), p95Ms(ctx.prometheus)]);
    const t = Math.round((Date.now() - t0) / 100) / 10;
    const p95At = at === null ? undefined : Math.round((at - t0) / 100) / 10;
    samples.push({
      t,
      replicas: seen.replicas,
      ready: seen.ready,
      p95,
      p95At,
      decision: seen.decision,
    });
    const line = timelineLine(
      t,
      seen,
      p95,
      spec.thresholdMs,
      phase,
      tty ? Math.max(60, (process.stdout.columns ?? 120) - 1) : 200,
    );
    // What changed stays on screen; the rest updates in place (on a terminal) or every 10 s.
    const key = `${phase} ${seen.replicas} ${seen.ready} ${seen.decision}`;
    if (tty) {
      process.stdout.write(`\r\x1b[2K${key !== lastPrinted ? `${line}\n` : line}`);
    } else if (key !== lastPrinted || t - lastPlain >= 10) {
      say(line);
      lastPlain = t;
    }
    lastPrinted = key;
  };
  const every = async (ms: number, until: () => boolean) => {
    while (!until()) {
      const started = Date.now();
      await sample();
      await sleep(Math.max(0, ms - (Date.now() - started)));
    }
  };

  if (plan.idleS > 0) await every(2000, () => Date.now() >= t0);
  phase = 'load';
  t0 = Date.now();
  if (plan.record) await rm(`${out}/k6.csv`, { force: true });
  const load = background(shell, k6, 'pipe');
  let k6Output = '';
  load.stdout?.on('data', (chunk: Buffer) => (k6Output += chunk.toString()));
  load.stderr?.on('data', (chunk: Buffer) => (k6Output += chunk.toString()));
  const k6Code = new Promise<number>((resolve) => load.on('close', (code) => resolve(code ?? 1)));
  let loadDone = false;
  void k6Code.then(() => (loadDone = true));
  await every(2000, () => loadDone);
  const loadEnd = Math.round((Date.now() - t0) / 100) / 10;

  let traffic: ChildProcess | undefined;
  if (plan.light && light) {
    phase = 'light';
    traffic = background(shell, light);
    const lightEnd = Date.now() + plan.light.maxSeconds * 1000;
    // Until back at min, plus 10 s to see it stay there.
    let atMinSince: number | undefined;
    await every(2000, () => {
      const last = samples.at(-1);
      if (last && last.replicas === spec.minReplicas && last.t > loadEnd) atMinSince ??= Date.now();
      else atMinSince = undefined;
      return (
        Date.now() > lightEnd || (atMinSince !== undefined && Date.now() - atMinSince >= 10_000)
      );
    });
    stop(traffic);
  }
  if (tty) process.stdout.write('\n');
  process.stdout.write(k6Output);
  const code = await k6Code;
  if (code !== 0 && code !== 99) throw new DemoError(`k6 failed (exit ${code})`); // 99: a threshold crossed, which is the point

  const k6Summary = JSON.parse(await readFile(resolve(KIT_ROOT, summaryFile), 'utf8')) as {
    metrics: Record<string, { values: Record<string, number> }>;
  };
  const k6P95 = k6Summary.metrics.http_req_duration?.values['p(95)'] ?? NaN;
  // Slow is the point; failed is not (refused connections, 404s: the load reached the wrong pods).
  const failedRate = k6Summary.metrics.http_req_failed?.values.rate ?? NaN;
  if (!(failedRate < 0.01)) {
    const message = `k6: ${(failedRate * 100).toFixed(2)} % of the requests failed, expected under 1 %`;
    if (options.auto) throw new DemoError(message);
    say(yellow(`  (not as rehearsed: ${message})`));
  }
  if (plan.p95) {
    const ok = plan.p95 === 'over' ? k6P95 > spec.thresholdMs : k6P95 < spec.thresholdMs;
    const message = `k6's p95 ${k6P95.toFixed(1)} ms, expected ${plan.p95} ${spec.thresholdMs} ms`;
    if (!ok && options.auto) throw new DemoError(message);
    say(ok ? green(`  ${message}: yes`) : yellow(`  (not as rehearsed: ${message})`));
  }
  if (!plan.record) return;

  // The record of the operator beat: timeline, summary, plot.
  const run: Run = {
    loadEnd,
    thresholdMs: spec.thresholdMs,
    minReplicas: spec.minReplicas,
    maxReplicas: spec.maxReplicas,
  };
  const durations = durationsFromK6Csv(await readFile(`${out}/k6.csv`, 'utf8'));
  const summary = summarize(samples, run, durations);
  const model = { vus: plan.vus, slots: 2, workMs: 40 }; // steps/04-operator/deploy/app.yaml: SLOW_SLOTS, SLOW_WORK_MS
  const report = {
    ...summary,
    replicasNeeded: replicasNeeded(model, run),
    load: {
      vus: plan.vus,
      seconds: plan.seconds,
      lightPerSecond: plan.light?.perSecond ?? 0,
      url: `${ctx.app}/slow`,
    },
    spec,
    k6: {
      requests: k6Summary.metrics.http_reqs?.values.count ?? 0,
      p95Ms: Math.round(k6P95 * 10) / 10,
      failedRate,
    },
    at: new Date().toISOString(),
  };
  await writeFile(`${out}/summary.json`, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(`${out}/timeline.json`, `${JSON.stringify({ run, samples }, null, 2)}\n`);
  const figures = [
    `peak ${summary.peakReplicas} replicas (the model needs ${report.replicasNeeded}, max ${spec.maxReplicas})`,
    `p95 over ${spec.thresholdMs} ms → first scale ${summary.breachToFirstScaleS ?? '-'} s`,
    `→ under ${spec.thresholdMs} ms for good ${summary.breachToRecoveredS ?? '-'} s`,
    `${summary.shareUnderThreshold === null ? '-' : (summary.shareUnderThreshold * 100).toFixed(1)} % of k6's requests under ${spec.thresholdMs} ms`,
    `back to ${spec.minReplicas} replica${spec.minReplicas === 1 ? '' : 's'} ${summary.backToMinS ?? '-'} s after the load`,
  ];
  const { svg, png } = await renderPlot(
    samples,
    run,
    summary,
    `The operator under load: ${plan.vus} closed loops on /slow for ${plan.seconds} s, then ${plan.light?.perSecond ?? 0} requests/s`,
    [figures.slice(0, 3).join(', '), figures.slice(3).join(', ')],
  );
  await writeFile(`${out}/operator.svg`, svg);
  await writeFile(`${out}/operator.png`, png);
  say(bold(`  ${figures.join(', ')}`));
  say(dim(`  wrote ${ctx.out}/operator.png, summary.json, timeline.json`));
}

async function runBeat(runner: Runner, beat: Beat, index: number, total: number): Promise<void> {
  const rule = '─'.repeat(
    Math.max(0, Math.min(100, process.stdout.columns ?? 100) - beat.title.length - 14),
  );
  say(`\n${bold(`── ${index}/${total} ${beat.title} `)}${dim(rule)}`);
  say(dim(`   ${beat.id}: ${beat.story}`));
  if (beat.setup) {
    const result = await runShell(runner.shell, text(beat.setup, runner.ctx), false);
    if (result.code !== 0)
      throw new DemoError(`setting up beat ${beat.id} failed:\n${result.output}`);
  }
  const started = Date.now();
  for (const step of beat.steps) await runStep(runner, step);
  say(dim(`   (${beat.id}: ${Math.round((Date.now() - started) / 1000)} s)`)); // for rehearsals: where the time goes
}

/** KUBECONFIG and the kubectl of the kit's cluster (tooling/cluster/env.sh). */
function kitClusterEnv(): NodeJS.ProcessEnv {
  const lines = execFileSync('bash', [`${KIT_ROOT}/tooling/cluster/env.sh`]).toString();
  const kubeconfig = /export KUBECONFIG='([^']+)'/.exec(lines)?.[1];
  const bin = /export PATH='([^']+)'/.exec(lines)?.[1];
  if (!kubeconfig || !bin)
    throw new DemoError(`tooling/cluster/env.sh printed no KUBECONFIG/PATH:\n${lines}`);
  return { KUBECONFIG: kubeconfig, PATH: `${bin}:${process.env.PATH}` };
}

async function main(): Promise<void> {
  const options = parseDemoArgs(process.argv.slice(2));
  if (options.help) return say(USAGE);
  if (options.list) {
    for (const beat of BEATS)
      say(`${beat.id.padEnd(14)} ${beat.cluster ? 'cluster' : 'docker '}  ${beat.title}`);
    return;
  }
  const beats = selectBeats(BEATS, options);
  checkReach(beats, options);
  const onCluster = beats.some((beat) => beat.cluster);
  const env: NodeJS.ProcessEnv = { ...process.env, KIT_T0: String(Math.floor(Date.now() / 1000)) };
  let prelude = 'set -o pipefail';
  if (options.context) {
    // The commands stay the README's `kubectl ...`, on your context.
    prelude += `\nkubectl() { command kubectl --context '${options.context.replace(/'/g, '')}' "$@"; }`;
  } else if (onCluster) {
    Object.assign(env, kitClusterEnv());
  }
  const ctx: Ctx = {
    port: options.port,
    // The kit's NodePorts; on your cluster, the port-forwards of forward().
    app:
      options.appUrl ??
      (options.context ? `http://127.0.0.1:${FORWARD.app}` : 'http://127.0.0.1:30080'),
    prometheus:
      options.prometheusUrl ??
      (options.context ? `http://127.0.0.1:${FORWARD.prometheus}` : 'http://127.0.0.1:30090'),
    on: options.context ? `--context ${options.context}` : '--cluster',
    out: options.out,
  };
  const runner: Runner = { options, ctx, shell: { env, prelude }, forwards: [] };
  const started = Date.now();
  say(
    bold(`kube-selfops demo: ${beats.map((beat) => beat.id).join(' → ')}`) +
      dim(options.auto ? '  (--auto)' : '  (Enter runs each command; q then Enter quits)'),
  );
  try {
    for (const [i, beat] of beats.entries()) await runBeat(runner, beat, i + 1, beats.length);
  } finally {
    killAll();
  }
  say(`\n${bold('Applause, bow.')} ${dim(`(${Math.round((Date.now() - started) / 1000)} s)`)}`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    killAll();
    if (err instanceof DemoError && err.message === 'quit') process.exit(0);
    const message =
      err instanceof UsageError
        ? `${err.message}\n\n${USAGE}`
        : err instanceof DemoError
          ? err.message
          : String(err instanceof Error ? err.stack : err);
    process.stderr.write(`${red(`kit demo: ${message}`)}\n`);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
