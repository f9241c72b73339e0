/** `./kit demo` options, and which beats they select: pure, unit-tested (tooling/test/demo.test.ts). */
import { parseArgs } from 'node:util';
import type { Beat } from './beats.ts';

export interface DemoOptions {
  /** Run straight through: no typing, no waiting for Enter (rehearsals, CI). */
  auto: boolean;
  /** Start at this beat (after a stage accident). */
  from?: string;
  /** Only these beats (comma-separated ids). */
  only?: string[];
  /** A cluster of your own (kubectl context) instead of the kit's local one. */
  context?: string;
  /** The app and Prometheus as this machine reaches them; defaults: the kit's NodePorts, or port-forwards. */
  appUrl?: string;
  prometheusUrl?: string;
  /** The Docker beats' port on 127.0.0.1. */
  port: number;
  out: string;
  list: boolean;
  help: boolean;
}

export const USAGE = `Usage: ./kit demo [--auto] [--from BEAT] [--only BEAT,...] [--context NAME] [--list]

The talk's live part, beat by beat: each command is shown, then run when you press Enter.
  --auto            run straight through, no typing effect, no waiting (rehearsals, CI)
  --from BEAT       start at BEAT (each beat sets up what it needs)
  --only B1,B2      run only these beats
  --context NAME    your own cluster (kubectl context) instead of the kit's local one
  --app-url URL     the app as this machine reaches it (default: 127.0.0.1:30080 on the kit's
                    cluster; with --context, a kubectl port-forward to one pod, so the beats
                    scale-by-hand and operator need it: your ingress's address)
  --prometheus-url URL   likewise for Prometheus (default: 127.0.0.1:30090, or a port-forward)
  --port N          the Docker beats' port on 127.0.0.1 (default 8080)
  --out DIR         where the plot and summary.json go (default out/demo)
  --list            list the beats
Keys: Enter runs the command shown; q then Enter quits.`;

export class UsageError extends Error {}

export function parseDemoArgs(argv: string[]): DemoOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        auto: { type: 'boolean', default: false },
        from: { type: 'string' },
        only: { type: 'string' },
        context: { type: 'string' },
        'app-url': { type: 'string' },
        'prometheus-url': { type: 'string' },
        port: { type: 'string', default: '8080' },
        out: { type: 'string', default: 'out/demo' },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values } = parsed;
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(
      `--port ${values.port} is not valid: expected a port number from 1 to 65535`,
    );
  for (const [name, url] of [
    ['--app-url', values['app-url']],
    ['--prometheus-url', values['prometheus-url']],
  ] as const) {
    if (url !== undefined && !/^https?:\/\/[^/]+$/.test(url))
      throw new UsageError(
        `${name} ${url} is not valid: expected a base URL like http://127.0.0.1:30080`,
      );
  }
  if (values.from !== undefined && values.only !== undefined)
    throw new UsageError('--from and --only do not go together: pick one');
  return {
    auto: values.auto,
    from: values.from,
    only: values.only
      ?.split(',')
      .map((id) => id.trim())
      .filter(Boolean),
    context: values.context,
    appUrl: values['app-url'],
    prometheusUrl: values['prometheus-url'],
    port,
    out: values.out,
    list: values.list,
    help: values.help,
  };
}

/** The beats to run, in story order; an unknown id is an error that lists the known ones. */
export function selectBeats(
  beats: readonly Beat[],
  options: Pick<DemoOptions, 'from' | 'only'>,
): Beat[] {
  const known = (id: string) => {
    if (!beats.some((beat) => beat.id === id))
      throw new UsageError(`no beat "${id}". Beats: ${beats.map((beat) => beat.id).join(', ')}`);
  };
  if (options.only) {
    options.only.forEach(known);
    return beats.filter((beat) => options.only!.includes(beat.id));
  }
  if (options.from) {
    known(options.from);
    return beats.slice(beats.findIndex((beat) => beat.id === options.from));
  }
  return [...beats];
}

/**
 * On a cluster of your own without --app-url the demo reaches the app through a port-forward,
 * which goes to one pod: the beats that add replicas under load would show nothing (and fail
 * their checks), so they need an address that spreads the load, before anything runs.
 */
export function checkReach(
  beats: readonly Beat[],
  options: Pick<DemoOptions, 'context' | 'appUrl'>,
): void {
  if (!options.context || options.appUrl) return;
  const scaling = beats.filter((beat) => beat.scales).map((beat) => beat.id);
  if (scaling.length === 0) return;
  throw new UsageError(
    `--context ${options.context} without --app-url: ${scaling.join(' and ')} would load one pod through a port-forward, ` +
      'so more replicas could not help. Give --app-url of an address that spreads the load (your ingress: k8s/ingress/README.md; ' +
      'a NodePort), or leave those beats out (--only).',
  );
}
