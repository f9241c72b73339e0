/**
 * The README command-block harness (tooling/testkit/readme-blocks.ts) on a sample markdown, with
 * real bash; and the rule that every shell block of a step README carries a mark.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import {
  KIT_ROOT,
  Session,
  blocksFor,
  dockerNames,
  parseBlocks,
  problems,
  type Block,
} from '@kit/testkit';

const SAMPLE = `# A step

<!-- test: docker wait=http://127.0.0.1:8080/status exit=7,99 timeout=30 -->
\`\`\`bash
echo one
\`\`\`

\`\`\`text
one
\`\`\`
<!-- expect: ^one$ -->
<!-- expect: ^o.e\\n$ -->

<!-- skip: a menu, one line per cluster -->
\`\`\`bash
kind load docker-image hits:1.0.0
\`\`\`

<!-- test: cluster cleanup -->
\`\`\`bash
kubectl delete namespace hits
\`\`\`

<!-- test: cluster pause=0.5 until=docker logs app | grep -q 'ready' -->
\`\`\`bash
kubectl get pods
\`\`\`

\`\`\`bash
echo unmarked
\`\`\`
`;

/** A block as the parser makes it, for Session and problems(). */
function block(code: string, options: Partial<Block> = {}): Block {
  return {
    line: 1,
    mark: 'docker',
    code,
    waits: [],
    untils: [],
    pauseSeconds: 0,
    allowedExits: [],
    timeoutSeconds: 10,
    cleanup: false,
    expects: [],
    ...options,
  };
}

describe('the marks', () => {
  test('are read from the comment line before each shell fence, with options, expectations and the stated output', () => {
    const blocks = parseBlocks(SAMPLE);
    expect(blocks.map((b) => [b.line, b.mark, b.code])).toEqual([
      [4, 'docker', 'echo one'],
      [15, 'skip', 'kind load docker-image hits:1.0.0'],
      [20, 'cluster', 'kubectl delete namespace hits'],
      [25, 'cluster', 'kubectl get pods'],
      [29, undefined, 'echo unmarked'],
    ]);
    const [first, skipped, cleanup, last] = blocks;
    expect(first).toMatchObject({
      waits: ['http://127.0.0.1:8080/status'],
      allowedExits: [7, 99],
      timeoutSeconds: 30,
      cleanup: false,
      stated: 'one',
    });
    expect(first?.expects.map(String)).toEqual(['/^one$/m', '/^o.e\\n$/m']);
    expect(skipped).toMatchObject({ reason: 'a menu, one line per cluster' });
    expect(cleanup).toMatchObject({ cleanup: true, timeoutSeconds: 120 });
    expect(last).toMatchObject({
      pauseSeconds: 0.5,
      untils: ["docker logs app | grep -q 'ready'"],
    });
  });

  test('blocksFor picks one suite, clean-up blocks last', () => {
    expect(blocksFor(SAMPLE, 'cluster').map((b) => b.code)).toEqual([
      'kubectl get pods',
      'kubectl delete namespace hits',
    ]);
    expect(blocksFor(SAMPLE, 'docker').map((b) => b.line)).toEqual([4]);
  });

  test.each([
    [
      '<!-- test: docker -->\ntext between\n```bash\nls\n```',
      /must stand on the line right before a code fence/,
    ],
    [
      '<!-- test: docker wait=http://example.com/ -->\n```bash\nls\n```',
      /unknown or malformed option wait=http:\/\/example.com\//,
    ],
    ['<!-- test: docker fast -->\n```bash\nls\n```', /unknown or malformed option fast/],
    ['<!-- test: laptop -->\n```bash\nls\n```', /test: laptop\? \(docker or cluster\)/],
    ['<!-- skip: -->\n```bash\nls\n```', /line 1: a skip mark needs a reason/],
    [
      '```bash\nls\n```\n<!-- expect: ^x$ -->',
      /an expect mark with no test-marked shell block before it/,
    ],
    [
      '<!-- test: docker -->\n```bash\nls\n```\n<!-- expect: ( -->',
      /line 5: Invalid regular expression/,
    ],
    ['<!-- test: docker -->\n```text\nls\n```', /a test or skip mark before a `text` block/],
    ['<!-- test: docker -->\n```bash\nls\n', /never closed/],
  ])('a malformed README is refused, never read as "nothing to run": %j', (markdown, error) => {
    expect(() => parseBlocks(markdown)).toThrow(error);
  });
});

describe('a block runs in bash like a paste into a terminal', () => {
  const session = new Session(tmpdir());
  afterAll(() => session.end());

  test('in the session folder; stdout, stderr and `time` in one output; every failed command recorded', async () => {
    const run = await session.run(
      block(
        'pwd\necho to-stderr >&2\nfalse\nls /nonexistent 2>/dev/null; echo "exit code $?"\ntime true',
      ),
    );
    expect(run.output).toMatch(
      new RegExp(`^${tmpdir()}\\nto-stderr\\nexit code 2\\n\\nreal\\t0m0\\.\\d{3}s\\n`),
    );
    expect(run.failures).toEqual([
      { status: 1, command: 'false' },
      { status: 2, command: 'ls /nonexistent 2> /dev/null' },
    ]);
    expect(run.status).toBe(0);
  });

  test('a command tested by || is not a failure (bash ERR semantics), and neither is one inside a pipeline', async () => {
    const run = await session.run(
      block('false || echo handled\nfor i in 1 2; do false; done | cat'),
    );
    expect(run).toMatchObject({ output: 'handled\n', failures: [] });
  });

  test('a command left in the background does not hold the block; the session ends it', async () => {
    // Running, not a zombie: an ended orphan may wait a while for its new parent to reap it.
    const alive = (pid: number) => {
      try {
        return !execFileSync('ps', ['-o', 'stat=', '-p', String(pid)])
          .toString()
          .trim()
          .startsWith('Z');
      } catch {
        return false;
      }
    };
    const run = await session.run(block('sleep 300 &\necho $!'));
    expect(run.seconds).toBeLessThan(5);
    const pid = Number(run.output.trim());
    expect(alive(pid)).toBe(true);
    await session.end();
    expect(alive(pid)).toBe(false);
  });

  test('a block over its time limit is ended and reported', async () => {
    const run = await session.run(block('sleep 30', { timeoutSeconds: 1 }));
    expect(run.status).toBeUndefined();
    expect(problems(block('sleep 30', { timeoutSeconds: 1 }), run)).toEqual([
      'did not finish within 1 s',
    ]);
  });

  test('until= polls its command after the block until it succeeds', async () => {
    const flag = `${tmpdir()}/kit-harness-${process.pid}`;
    const run = await session.run(
      block(`(sleep 1.5; touch ${flag}) &`, { untils: [`test -e ${flag} && rm ${flag}`] }),
    );
    expect(run.seconds).toBeLessThan(1);
    expect(readdirSync(tmpdir())).not.toContain(`kit-harness-${process.pid}`); // polled until it existed, then removed
  });
});

describe('problems(): what a run shows against what the README states', () => {
  const run = {
    output: 'app\tExited (1) 5 seconds ago\nstarting hits...\n000\n',
    failures: [{ status: 7, command: 'curl -s http://127.0.0.1:8080/status' }],
    status: 7,
    seconds: 1,
  };

  test('none when every expectation matches and every failure is an allowed exit code', () => {
    expect(
      problems(
        block('', {
          allowedExits: [7],
          expects: [/^app\tExited \(1\) .+ ago\nstarting hits\.\.\.\n000\n$/m],
        }),
        run,
      ),
    ).toEqual([]);
  });

  test('a failure with an exit code the mark does not allow, and each expectation that does not match', () => {
    expect(
      problems(
        block('', { allowedExits: [99], expects: [/^starting hits\.\.\.$/m, /^404$/m] }),
        run,
      ),
    ).toEqual([
      '`curl -s http://127.0.0.1:8080/status` exited with 7',
      'the output does not match /^404$/',
    ]);
  });
});

test('dockerNames: the containers, networks and named volumes the blocks create (a shell variable matches anything)', () => {
  const names = dockerNames([
    block(
      'docker network create hits\ndocker run -d --name redis --network hits -v hits-redis:/data redis\nfor i in 2 3; do docker run -d --name app-$i -v "$PWD/x.yml:/etc/x.yml:ro" app; done',
    ),
  ]);
  expect(names.containers.map(String)).toEqual(['/^redis$/', '/^app-.+$/']);
  expect(names.networks.map(String)).toEqual(['/^hits$/']);
  expect(names.volumes.map(String)).toEqual(['/^hits-redis$/']);
});

test.each(readdirSync(`${KIT_ROOT}/steps`).sort())(
  'every shell block of %s/README.md is marked: a test (docker or cluster) or a skip with its reason',
  (step) => {
    const blocks = parseBlocks(readFileSync(`${KIT_ROOT}/steps/${step}/README.md`, 'utf8'));
    expect(
      blocks
        .filter((b) => b.mark === undefined)
        .map((b) => `line ${b.line}: ${b.code.split('\n')[0]}`),
    ).toEqual([]);
    expect(blocks.filter((b) => b.mark === 'docker').length).toBeGreaterThan(0);
  },
);

// The Verification blocks (`./kit test steps/NN`) are the suite itself, so they are skipped rather
// than run from inside it; what they state is still checked: each test file they show passing
// exists, and each test they list by name is a test of that file.
test.each(readdirSync(`${KIT_ROOT}/steps`).sort())(
  '%s/README.md: the Verification block lists test files and names that exist',
  (step) => {
    const verification = parseBlocks(
      readFileSync(`${KIT_ROOT}/steps/${step}/README.md`, 'utf8'),
    ).filter((b) => /^\.\/kit test steps\//.test(b.code));
    expect(verification).toHaveLength(1);
    const stated = verification[0]?.stated ?? '';
    const missing: string[] = [];
    let source = '';
    for (const line of stated.split('\n')) {
      const pass = /^PASS \S+ (\S+)$/.exec(line);
      if (pass) {
        source = readFileSync(`${KIT_ROOT}/${pass[1]}`, 'utf8');
        continue;
      }
      const name = /^\s+✓ (.+)$/.exec(line)?.[1];
      if (name && !["'", '"', '`'].some((quote) => source.includes(`${quote}${name}${quote}`)))
        missing.push(name);
    }
    expect(stated).toMatch(/^PASS /m);
    expect(missing).toEqual([]);
  },
);
