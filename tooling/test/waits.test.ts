/**
 * One way to wait: `eventually` (tooling/lib/eventually.ts) in TypeScript and `wait_until`
 * (tooling/lib.sh) in shell, both with a deadline. The first part proves what eventually promises;
 * the second lists every loop in the kit that sleeps and fails on one that is not known here, so
 * a new hand-written poll is caught in review's place.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { KIT_ROOT, eventually } from '@kit/testkit';

describe('eventually', () => {
  test('returns the first value the probe gives, trying again after undefined and after errors', async () => {
    let calls = 0;
    const value = await eventually(
      'the third call',
      async () => {
        await Promise.resolve();
        calls++;
        if (calls === 1) return undefined;
        if (calls === 2) throw new Error('not yet');
        return 'ready';
      },
      5000,
      10,
    );
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  test('fails after its deadline with what it waited for and the last error', async () => {
    const started = Date.now();
    let calls = 0;
    const waiting = eventually(
      'a thing that never comes',
      async () => {
        await Promise.resolve();
        calls++;
        throw new Error(`attempt ${calls} refused`);
      },
      300,
      50,
    );
    await expect(waiting).rejects.toThrow(
      /^timed out after 300 ms waiting for a thing that never comes \(last: attempt \d+ refused\)$/,
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(300);
    expect(took).toBeLessThan(2000);
    expect(calls).toBeGreaterThan(2);
  });

  test('a probe that only ever answers undefined times out without a "last"', async () => {
    await expect(eventually('nothing', () => Promise.resolve(undefined), 100, 20)).rejects.toThrow(
      /^timed out after 100 ms waiting for nothing$/,
    );
  });
});

describe('wait_until (tooling/lib.sh)', () => {
  const waitUntil = (script: string) => {
    const started = Date.now();
    let code = 0;
    try {
      execFileSync('bash', ['-c', `source tooling/lib.sh; ${script}`], {
        cwd: KIT_ROOT,
        stdio: 'ignore',
      });
    } catch (err) {
      code = (err as { status: number }).status;
    }
    return { code, seconds: (Date.now() - started) / 1000 };
  };

  test('succeeds as soon as the command does', () => {
    const dir = `/tmp/kit-waits-${process.pid}`;
    const result = waitUntil(
      `rm -f ${dir}; (sleep 1; touch ${dir}) & wait_until 10 test -e ${dir}; rc=$?; rm -f ${dir}; exit $rc`,
    );
    expect(result.code).toBe(0);
    expect(result.seconds).toBeLessThan(5);
  });

  test('fails (exit 1) once its SECONDS are over', () => {
    const result = waitUntil('wait_until 2 false');
    expect(result.code).toBe(1);
    expect(result.seconds).toBeGreaterThanOrEqual(1);
    expect(result.seconds).toBeLessThan(5);
  });
});

/**
 * The loops that may sleep, and why each is not a wait for a state. Anything else that loops and
 * sleeps is a poll: write it with eventually or wait_until.
 */
const KNOWN_LOOPS: Record<string, string> = {
  'tooling/lib/eventually.ts': 'the one TypeScript wait',
  'tooling/lib.sh': 'the one shell wait, wait_until',
  'tooling/demo/main.ts':
    "the demo's timeline: a sample every 2 s while the load runs (pacing, not a wait)",
  'tooling/bench/autoscalers.ts':
    "the bench's replica samples, one a second while k6 runs (pacing)",
  'steps/04-operator/test/operator.cluster.test.ts':
    'watchReplicas: the replicas sampled for a duration, to show nothing changes (not a wait)',
  'tooling/bench/scale.ts': 'the measurement window: RSS sampled every 5 s for WINDOW_S (pacing)',
  'slides/check.ts':
    "code evaluated inside the browser page, where the kit's modules are not loaded",
  'steps/04-operator/operator/src/events.ts':
    "the operator's own retries (its image carries no kit code)",
};

/** The text from OPEN (an index of "(" or "{") to its matching close, strings and comments not parsed. */
function balanced(text: string, open: number): string {
  const close = text[open] === '(' ? ')' : '}';
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === text[open]) depth++;
    else if (text[i] === close && --depth === 0) return text.slice(open, i + 1);
  }
  return text.slice(open);
}

/** The lines a command prints, from the kit's root. */
const linesOf = (command: string, args: string[]) =>
  execFileSync(command, args, { cwd: KIT_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

/** Every loop (file:line) in the kit's own sources that sleeps in its header or its body. */
function sleepingLoops(): string[] {
  // The shell scripts as shellcheck gets them (by .sh or by shebang): one list, tooling/lint.sh's.
  const shellScripts = new Set(linesOf(`${KIT_ROOT}/tooling/lint.sh`, ['--list', 'shell']));
  const sources = linesOf('git', ['ls-files', '-co', '--exclude-standard'])
    .filter((file) => /\.(ts|mjs|js)$/.test(file))
    .filter((file) => !file.includes('node_modules/') && !file.startsWith('slides/out/'))
    .filter((file) => file !== 'tooling/test/waits.test.ts'); // its patterns are not loops
  const found: string[] = [];
  for (const file of [...shellScripts, ...sources]) {
    const shell = shellScripts.has(file);
    const text = readFileSync(`${KIT_ROOT}/${file}`, 'utf8');
    const lineOf = (index: number) => text.slice(0, index).split('\n').length;
    if (shell) {
      // A shell loop runs from its keyword to its `done`.
      for (const m of text.matchAll(
        /(^|[;&|(]|\bdo|\bthen)[ \t]*(while|until|for)\s[\s\S]*?\bdone\b/gm,
      )) {
        if (/(^|[\s;&|(])sleep\s/.test(m[0]))
          found.push(`${file}:${lineOf(m.index + m[1]!.length)}`);
      }
    } else {
      // A TypeScript loop: its (header), then a {block} or one statement.
      for (const m of text.matchAll(/(?<![\w.])(for|while)\s*\(/g)) {
        const header = balanced(text, m.index + m[0].length - 1);
        const after = m.index + m[0].length - 1 + header.length;
        const rest = text.slice(after);
        const start = after + rest.search(/\S/);
        const body =
          text[start] === '{'
            ? balanced(text, start)
            : text.slice(start, text.indexOf(';', start) + 1);
        if (/\bsleep\(|setTimeout\(/.test(header + body)) found.push(`${file}:${lineOf(m.index)}`);
      }
    }
  }
  return found;
}

test('no loop sleeps but the known ones: a wait is eventually() or wait_until', () => {
  const loops = sleepingLoops();
  expect(loops.filter((at) => !(at.split(':')[0]! in KNOWN_LOOPS))).toEqual([]);
  // Each known one is still there (else it leaves this list too).
  expect(
    Object.keys(KNOWN_LOOPS).filter((file) => !loops.some((at) => at.startsWith(`${file}:`))),
  ).toEqual([]);
});

test('the guard finds a poll (the test above can fail)', async () => {
  // A poll written the old way, in a scratch file the guard would scan.
  const file = `tooling/test/poll-${process.pid}.ts`;
  const { writeFileSync, rmSync } = await import('node:fs');
  writeFileSync(`${KIT_ROOT}/${file}`, 'for (let i = 0; i < 10; i++) {\n  await sleep(100);\n}\n');
  try {
    expect(sleepingLoops()).toContain(`${file}:1`);
  } finally {
    rmSync(`${KIT_ROOT}/${file}`);
  }
  await sleep(0);
});

test('no hand-made sleep helpers: node:timers/promises has one', () => {
  // A hand-made sleep: `const sleep = ...`, or a Promise around setTimeout (this file names both).
  const pattern = ['const sleep = ', 'new Promise\\(\\(resolve\\) => setTimeout\\(resolve'].join(
    '|',
  );
  const args = ['grep', '-n', '-E', pattern, '--', '*.ts', '*.js', ':!tooling/test/waits.test.ts'];
  let out = '';
  try {
    out = execFileSync('git', args, { cwd: KIT_ROOT, encoding: 'utf8' });
  } catch (err) {
    if ((err as { status?: number }).status !== 1) throw err; // 1: no match
  }
  // The steps' apps wait on purpose (the /slow work): that is app code, not a wait for a state.
  const left = out.split('\n').filter((line) => line && !/^steps\/\d\d-[\w-]+\/src\//.test(line));
  expect(left).toEqual([]);
});
