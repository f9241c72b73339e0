/**
 * What both benchmarks (autoscalers.ts, scale.ts) need from the outside world: progress lines
 * timed from start and kubectl (on PATH, as `./kit bench` sets it up).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const T0 = Date.now();

export const progress = (msg: string) =>
  console.error(
    `\x1b[1m[bench ${String(Math.round((Date.now() - T0) / 1000)).padStart(4)}s]\x1b[0m ${msg}`,
  );

/** kubectl ARGS, with INPUT on its stdin if given; its stdout (1,000 resources as JSON fit). */
export async function kubectl(args: string[], input?: string): Promise<string> {
  const run = execFileAsync('kubectl', args, { maxBuffer: 256 * 1024 * 1024 });
  if (input !== undefined) run.child.stdin?.end(input);
  return (await run).stdout;
}
