/**
 * Every command block an attendee pastes is a test (like eks-workshop-v2's docs): this harness
 * finds the marked shell blocks of a step README, runs each one literally with bash from the
 * step's folder, and checks the output the README states.
 *
 * The marks are one-line HTML comments, which a rendered README does not show:
 *
 *   <!-- test: docker -->         the next ```bash block runs in the Docker suite
 *   <!-- test: cluster -->        ... in the cluster suite (KUBECONFIG and kubectl of the kit's cluster)
 *   <!-- skip: REASON -->         the next block is not run, and says why (every shell block of a
 *                                 step README carries a test or a skip mark: the kit's tests check it)
 *   <!-- expect: REGEX -->        after a marked block (usually right after its stated ```text
 *                                 output): the block's output (stdout and stderr together, with
 *                                 bash's `time` report) must match REGEX (JavaScript, flag m, so ^
 *                                 and $ match at each line). Several may follow one block.
 *
 * Options after `test: docker` / `test: cluster`, separated by spaces:
 *   wait=URL      after the block, wait (60 s at most) until URL answers with a status under 500:
 *                 the pause a person makes before the next command ("open it once it is up")
 *   until=CMD     after the block, run the shell command CMD (the rest of the mark) every second
 *                 until it succeeds, 60 s at most: for a wait that must not touch the app
 *                 (`until=docker logs app | grep -q 'redis connected'`: a request would be logged)
 *   pause=S       before the block, wait S seconds: a person's reading time, for state that
 *                 settles a moment after the previous block (a crashed container's status)
 *   exit=N[,N]    exit statuses that commands of the block may end with (curl's 7 when the app has
 *                 died, k6's 99 when a threshold fails); any other failed command fails the block
 *   timeout=S     the block's time limit in seconds (default 120)
 *   cleanup       the README's clean-up: run after the other blocks, even when one of them failed
 *
 * With KIT_BLOCKS_OUT=DIR, each block's output is also written to DIR/<step>-<line>.txt (the
 * README's figures come from those runs).
 *
 * A command that ends with `&` keeps running after its block (a port-forward, a load run); the
 * session ends it (its whole process group) when the README is done.
 */
import { spawn } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../lib/eventually.js';
import { setTimeout as sleep } from 'node:timers/promises';

export type Suite = 'docker' | 'cluster';

export interface Block {
  /** 1-based line of the opening fence. */
  line: number;
  /** The mark: a suite to run in, or skip. */
  mark: Suite | 'skip';
  /** Why a skipped block is not run. */
  reason?: string;
  code: string;
  waits: string[];
  /** Shell commands polled after the block until they succeed. */
  untils: string[];
  pauseSeconds: number;
  allowedExits: number[];
  timeoutSeconds: number;
  cleanup: boolean;
  expects: RegExp[];
  /** The output the README shows for the block (the first ```text block after it), if any. */
  stated?: string;
}

const SHELLS = new Set(['bash', 'sh', 'shell', 'console']);
const MARK = /^<!--\s*(test|skip):\s*(.*?)\s*-->\s*$/;
const EXPECT = /^<!--\s*expect:\s(.*?)\s*-->\s*$/;

/** The shell blocks of a markdown text, with their marks; unmarked ones have mark undefined. */
export function parseBlocks(
  markdown: string,
): Array<Omit<Block, 'mark'> & { mark?: Block['mark'] }> {
  const lines = markdown.split('\n');
  const blocks: Array<Omit<Block, 'mark'> & { mark?: Block['mark'] }> = [];
  let current: (typeof blocks)[number] | undefined; // the last shell block, until the next one
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const fence = /^(`{3,}|~{3,})\s*(\S*)/.exec(line);
    if (fence) {
      const close = fence[1] ?? '```';
      const body: string[] = [];
      let j = i + 1;
      while (j < lines.length && !(lines[j] ?? '').startsWith(close)) body.push(lines[j++] ?? '');
      if (j === lines.length) throw new Error(`line ${i + 1}: a code fence that is never closed`);
      const lang = fence[2] ?? '';
      if (SHELLS.has(lang)) {
        current = {
          line: i + 1,
          code: body.join('\n'),
          waits: [],
          untils: [],
          pauseSeconds: 0,
          allowedExits: [],
          timeoutSeconds: 120,
          cleanup: false,
          expects: [],
        };
        const mark = MARK.exec(lines[i - 1] ?? '');
        if (mark) Object.assign(current, parseMark(mark[1] as 'test' | 'skip', mark[2] ?? '', i));
        blocks.push(current);
      } else if (MARK.test(lines[i - 1] ?? '')) {
        throw new Error(
          `line ${i}: a test or skip mark before a \`${lang}\` block (only shell blocks run)`,
        );
      } else if (lang === 'text' && current && current.stated === undefined) {
        current.stated = body.join('\n');
      }
      i = j;
      continue;
    }
    const expect = EXPECT.exec(line);
    if (expect) {
      if (!current?.mark || current.mark === 'skip')
        throw new Error(`line ${i + 1}: an expect mark with no test-marked shell block before it`);
      try {
        current.expects.push(new RegExp(expect[1] ?? '', 'm'));
      } catch (err) {
        throw new Error(`line ${i + 1}: ${(err as Error).message}`, { cause: err });
      }
    } else if (/^<!--\s*(test|skip|expect)\b/.test(line) && !MARK.test(line)) {
      throw new Error(`line ${i + 1}: a mark the harness does not understand: ${line}`);
    } else if (MARK.test(line) && !/^(`{3,}|~{3,})/.test(lines[i + 1] ?? '')) {
      throw new Error(
        `line ${i + 1}: a ${line} mark must stand on the line right before a code fence`,
      );
    }
  }
  return blocks;
}

function parseMark(kind: 'test' | 'skip', rest: string, index: number): Partial<Block> {
  if (kind === 'skip') {
    if (!rest) throw new Error(`line ${index}: a skip mark needs a reason`);
    return { mark: 'skip', reason: rest };
  }
  const [head = '', until] = rest.split(/\s+until=(.*)/s);
  const [suite, ...options] = head.split(/\s+/);
  if (suite !== 'docker' && suite !== 'cluster')
    throw new Error(`line ${index}: test: ${suite}? (docker or cluster)`);
  const parsed: Partial<Block> = {
    mark: suite,
    waits: [],
    untils: until ? [until] : [],
    allowedExits: [],
  };
  for (const option of options) {
    const [name, value = ''] = option.split(/=(.*)/s);
    if (name === 'wait' && /^https?:\/\/(127\.0\.0\.1|localhost)[:/]/.test(value))
      parsed.waits?.push(value);
    else if (name === 'exit' && /^\d+(,\d+)*$/.test(value))
      parsed.allowedExits = value.split(',').map(Number);
    else if (name === 'timeout' && /^\d+$/.test(value)) parsed.timeoutSeconds = Number(value);
    else if (name === 'pause' && /^\d+(\.\d+)?$/.test(value)) parsed.pauseSeconds = Number(value);
    else if (name === 'cleanup' && value === '') parsed.cleanup = true;
    else
      throw new Error(
        `line ${index}: unknown or malformed option ${option} (wait=URL on 127.0.0.1, pause=S, exit=N,N, timeout=S, cleanup)`,
      );
  }
  return parsed;
}

/** The blocks of a README marked for SUITE, in order (clean-up blocks last). */
export function blocksFor(markdown: string, suite: Suite): Block[] {
  const marked = parseBlocks(markdown).filter((block): block is Block => block.mark === suite);
  return [...marked.filter((block) => !block.cleanup), ...marked.filter((block) => block.cleanup)];
}

export interface BlockRun {
  output: string;
  /** Commands that failed: their exit status and the command as bash saw it. */
  failures: Array<{ status: number; command: string }>;
  /** The block's own exit status (its last command's), or undefined when it timed out. */
  status?: number;
  seconds: number;
}

/** The commands a README's blocks started in the background, ended when the README is done. */
export class Session {
  private readonly groups: number[] = [];
  constructor(
    readonly cwd: string,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** Runs BLOCK with bash in the session's folder, like a paste into a terminal (no `set -e`). */
  async run(block: Block): Promise<BlockRun> {
    if (block.pauseSeconds > 0) await sleep(block.pauseSeconds * 1000);
    const dir = mkdtempSync(join(tmpdir(), 'kit-block-'));
    const out = openSync(join(dir, 'out'), 'w');
    const failed = openSync(join(dir, 'failed'), 'w');
    // The ERR trap records every failed command (not those tested by || or if, as bash defines it)
    // on fd 3, so the output stays what a person would see.
    const script = `trap 'printf "%s\\t%s\\n" "$?" "$BASH_COMMAND" >&3' ERR\n${block.code}\n`;
    const started = Date.now();
    const child = spawn('bash', ['-c', script], {
      cwd: this.cwd,
      env: this.env,
      detached: true,
      stdio: ['ignore', out, out, failed],
    });
    if (child.pid) this.groups.push(child.pid);
    closeSync(out);
    closeSync(failed);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const timer = setTimeout(() => resolve(undefined), block.timeoutSeconds * 1000);
      child.once('error', reject);
      // 'exit', not 'close': commands left in the background still hold the output file.
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve(code ?? (signal ? 128 : 1));
      });
    });
    if (status === undefined && child.pid) kill(child.pid, 'SIGKILL');
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    const failures = read('failed')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [code, ...command] = line.split('\t');
        return { status: Number(code), command: command.join('\t') };
      });
    const run: BlockRun = { output: read('out'), failures, seconds: (Date.now() - started) / 1000 };
    if (status !== undefined) run.status = status;
    rmSync(dir, { recursive: true, force: true });
    for (const url of block.waits) {
      await eventually(
        `${url} to answer (the block's wait=)`,
        async () => {
          const code = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
            (r) => r.status,
            () => 0,
          );
          return code > 0 && code < 500 ? true : undefined;
        },
        60_000,
        250,
      );
    }
    for (const command of block.untils) {
      await eventually(
        `\`${command}\` to succeed (the block's until=)`,
        async () => {
          const code = await new Promise<number | null>((resolve) =>
            spawn('bash', ['-c', command], { cwd: this.cwd, env: this.env, stdio: 'ignore' }).once(
              'exit',
              resolve,
            ),
          );
          return code === 0 ? true : undefined;
        },
        60_000,
        250,
      );
    }
    return run;
  }

  /** Ends whatever the blocks left running in the background (their process groups). */
  async end(): Promise<void> {
    for (const pid of this.groups) kill(pid, 'SIGTERM');
    await sleep(500);
    for (const pid of this.groups.splice(0)) kill(pid, 'SIGKILL');
  }
}

function kill(group: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-group, signal);
  } catch {
    // the group has already ended
  }
}

/** What is wrong with a run of BLOCK: empty when the README tells the truth. */
export function problems(block: Block, run: BlockRun): string[] {
  const found: string[] = [];
  if (run.status === undefined) found.push(`did not finish within ${block.timeoutSeconds} s`);
  for (const failure of run.failures) {
    if (!block.allowedExits.includes(failure.status))
      found.push(`\`${failure.command}\` exited with ${failure.status}`);
  }
  for (const expect of block.expects) {
    if (!expect.test(run.output)) found.push(`the output does not match /${expect.source}/`);
  }
  return found;
}

/** Runs BLOCK and throws, with the block, its output and the README's, unless problems() is empty. */
export async function runAndCheck(
  session: Session,
  block: Block,
  readme: string,
): Promise<BlockRun> {
  const run = await session.run(block);
  const out = process.env.KIT_BLOCKS_OUT;
  if (out) {
    mkdirSync(out, { recursive: true });
    writeFileSync(
      join(out, `${readme.split('/')[1] ?? 'readme'}-${block.line}.txt`),
      `$ ${block.code}\n${run.output}`,
    );
  }
  const found = problems(block, run);
  if (found.length > 0) {
    throw new Error(
      `${readme}:${block.line}: ${found.join('; ')}\n` +
        `--- the block (run from ${session.cwd})\n${block.code}\n` +
        `--- its output (${run.seconds.toFixed(1)} s)\n${run.output}` +
        (block.stated === undefined ? '' : `--- the output the README states\n${block.stated}\n`),
    );
  }
  return run;
}

/**
 * The Docker objects a README's blocks create by name: `--name X` containers, `docker network
 * create X`, named volumes `-v X:/...`. A shell variable in a name (`app-$i`) matches anything.
 */
export function dockerNames(blocks: Block[]): {
  containers: RegExp[];
  networks: RegExp[];
  volumes: RegExp[];
} {
  const pattern = (name: string) =>
    new RegExp(`^${name.replace(/[.+?^()[\]{}|\\]/g, '\\$&').replace(/\$\{?\w+\}?/g, '.+')}$`);
  const all = (re: RegExp) =>
    [
      ...new Set(blocks.flatMap((block) => [...block.code.matchAll(re)].map((m) => m[1] ?? ''))),
    ].map(pattern);
  return {
    containers: all(/--name[ =](\S+)/g),
    networks: all(/docker network create (?:--\S+ )*(\S+)/g),
    volumes: all(/-v ([\w.-]+):\//g),
  };
}

/** Which of NAMES exist now in Docker. */
export async function existingDockerNames(
  names: ReturnType<typeof dockerNames>,
  docker: (...args: string[]) => Promise<string>,
): Promise<string[]> {
  const list = async (kind: 'container' | 'network' | 'volume', patterns: RegExp[]) =>
    (
      await docker(
        kind,
        'ls',
        ...(kind === 'container' ? ['-a'] : []),
        '--format',
        kind === 'container' ? '{{.Names}}' : '{{.Name}}',
      )
    )
      .split('\n')
      .filter((name) => name && patterns.some((re) => re.test(name)))
      .map((name) => `${kind} ${name}`);
  return [
    ...(await list('container', names.containers)),
    ...(await list('network', names.networks)),
    ...(await list('volume', names.volumes)),
  ];
}

export interface ReadmeHooks {
  /** Environment of the blocks (the cluster's KUBECONFIG and kubectl, for example). */
  env?: NodeJS.ProcessEnv;
  /** Before the first block: make sure the README starts from what it assumes; throw if it cannot. */
  before?: () => Promise<void>;
  /** After the clean-up blocks, whatever happened: put back what the next test needs. */
  after?: () => Promise<void>;
}

/**
 * One jest describe for a README and a suite: a test per marked block, in order (after a failed
 * block the rest fail with "not run"), the clean-up blocks last, then the session's background
 * commands ended. Call it inside a test file; the file runs its READMEs one after another.
 * FOLDER is the README's folder under ROOT, where its blocks run: `steps/02-pid1-fixed`, or `.`.
 */
export function describeReadme(
  folder: string,
  suite: Suite,
  root: string,
  hooks: ReadmeHooks = {},
): void {
  const readme = join(folder, 'README.md');
  const blocks = blocksFor(readFileSync(join(root, readme), 'utf8'), suite);
  describe(readme, () => {
    const session = new Session(join(root, folder), hooks.env ?? process.env);
    let ready = false;
    let failedAt: number | undefined;
    beforeAll(async () => {
      await hooks.before?.();
      ready = true;
    }, 300_000);
    afterAll(async () => {
      await session.end();
      if (ready) await hooks.after?.();
    }, 300_000);
    for (const block of blocks) {
      const title = `line ${block.line}${block.cleanup ? ' (clean-up)' : ''}: ${(block.code.split('\n')[0] ?? '').slice(0, 70)}`;
      test(
        title,
        async () => {
          if (!ready)
            throw new Error(
              'not run: the README could not start from a clean state (see beforeAll)',
            );
          if (failedAt !== undefined && !block.cleanup)
            throw new Error(`not run: the block at line ${failedAt} failed`);
          try {
            await runAndCheck(session, block, readme);
          } catch (err) {
            failedAt ??= block.line;
            throw err;
          }
        },
        (block.timeoutSeconds + block.pauseSeconds) * 1000 +
          70_000 * (block.waits.length + block.untils.length + 1),
      );
    }
  });
}
