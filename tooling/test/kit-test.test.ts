/** `./kit test`: the cluster suite's two lanes, its order, its lock, CI=true, and the summary lines. */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT, eventually } from '@kit/testkit';

const execFileAsync = promisify(execFile);

describe('./kit test: the cluster suite runs in two lanes of one file at a time, and under CI=true it cannot be skipped', () => {
  const jestEnv = (suite: string, lane = '') => ({
    ...process.env,
    KIT_SUITE: suite,
    KIT_LANE: lane,
  });
  const jestConfig = async (suite: string, lane = '') => {
    const script =
      "import('./jest.config.js').then(({ default: c }) => console.log(JSON.stringify({ maxWorkers: c.maxWorkers ?? null })))";
    const { stdout } = await execFileAsync(process.execPath, ['-e', script], {
      cwd: KIT_ROOT,
      env: jestEnv(suite, lane),
    });
    return JSON.parse(stdout) as { maxWorkers: number | null };
  };
  const jest = (lane: string, ...args: string[]) =>
    execFileAsync(join(KIT_ROOT, 'node_modules/.bin/jest'), args, {
      cwd: KIT_ROOT,
      env: {
        ...jestEnv('cluster', lane),
        NODE_OPTIONS: '--experimental-vm-modules --no-warnings=ExperimentalWarning',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  const files = async (lane: string) =>
    (await jest(lane, '--listTests')).stdout
      .trim()
      .split('\n')
      .map((path) => relative(KIT_ROOT, path))
      .sort();

  test("jest.config.js: each lane of the cluster suite has one worker whatever the cores; the Docker suite, jest's default", async () => {
    for (const lane of ['shared', 'own', ''])
      expect(await jestConfig('cluster', lane)).toEqual({ maxWorkers: 1 });
    expect(await jestConfig('docker')).toEqual({ maxWorkers: null });
    // ...and jest really takes it: the resolved configuration it runs with.
    const { stdout } = await jest('own', '--showConfig');
    expect(
      (JSON.parse(stdout) as { globalConfig: { maxWorkers: number } }).globalConfig.maxWorkers,
    ).toBe(1);
  });

  test('the two lanes split the cluster test files: each file in exactly one', async () => {
    const [shared, own, all] = [await files('shared'), await files('own'), await files('')];
    expect(own).toEqual([
      'steps/00-broken-app/test/broken-app.cluster.test.ts',
      'steps/01-logging-fixed/test/logging-fixed.cluster.test.ts',
      'steps/02-pid1-fixed/test/pid1-fixed.cluster.test.ts',
      'steps/03-metrics/test/metrics.cluster.test.ts',
      'steps/04-operator/test/operator.cluster.test.ts',
      'tooling/test/hpa.cluster.test.ts',
    ]);
    expect([...shared, ...own].sort()).toEqual(all);
    expect(shared.filter((file) => own.includes(file))).toEqual([]);
    await expect(
      execFileAsync(process.execPath, ['-e', "import('./jest.config.js')"], {
        cwd: KIT_ROOT,
        env: jestEnv('cluster', 'fast'),
      }),
    ).rejects.toMatchObject({
      stderr: expect.stringContaining('KIT_LANE=fast: use shared or own'),
    });
  });

  test("a file of the own lane names none of what the shared lane's files share", async () => {
    // The namespaces hits and monitoring, the fixed NodePorts and host ports, `./kit up`, the
    // shipped Prometheus as it is (deployPrometheusFor moves it), and an Ingress (deployStep
    // without `ingress: false`). The CRD is shared under a lock instead (tooling/testkit/lock.ts).
    const shared =
      /('-n', '|namespace[=:] ?["'`]?|[nN]amespace\(['"`]|NS = ['"`])(hits|monitoring)\b|\b(30080|30090|8080|9090)\b|deletePrometheus|k8s\/prometheus(?!-)|'up', '0/;
    for (const file of await files('own')) {
      const source = readFileSync(join(KIT_ROOT, file), 'utf8');
      const code = source.split('\n').filter((line) => !/^\s*(\*|\/\*|\/\/)/.test(line)); // not the comments
      const ingress = (line: string) =>
        line.includes('deployStep(') && !line.includes('{ ingress: false }');
      expect(
        `${file}: ${code.filter((line) => shared.test(line) || ingress(line)).join(' | ')}`,
      ).toBe(`${file}: `);
    }
  });

  test("CI=true as a user who may not use Docker, so cannot run the kit's cluster: exit 1 at once, saying why and what to do", async () => {
    const home = mkdtempSync(join(tmpdir(), 'kit-nonroot-'));
    chmodSync(home, 0o777);
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: home,
      KIT_CACHE: join(home, 'cache'),
      CI: 'true',
      KIT_CLUSTER: 'auto',
    };
    // As root, the same command as the unprivileged user nobody.
    const [file, args] =
      process.getuid?.() === 0
        ? [
            'runuser',
            [
              '-u',
              'nobody',
              '--',
              'env',
              ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
              'bash',
              `${KIT_ROOT}/kit`,
              'test',
            ],
          ]
        : ['bash', [`${KIT_ROOT}/kit`, 'test']];
    try {
      const started = Date.now();
      await expect(
        execFileAsync(file, args, { env: { ...process.env, ...env } }),
      ).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining(
          "CI=true, but the cluster tests cannot run: the kit's cluster needs a Docker engine on Linux that this user may use",
        ),
      });
      expect(Date.now() - started).toBeLessThan(10_000); // before installing or testing anything
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('the order in each lane: the longest file first, the exclusive CRD holder last (tooling/testkit/sequencer.js)', async () => {
    const { rank } = (await import(join(KIT_ROOT, 'tooling/testkit/sequencer.js'))) as {
      rank: (path: string) => number;
    };
    const inOrder = (lane: string[]) => [...lane].sort((a, b) => rank(a) - rank(b));
    const [shared, own] = [await files('shared'), await files('own')];
    expect(inOrder(shared)[0]).toBe('tooling/test/demo.cluster.test.ts');
    expect(inOrder(shared).at(-1)).toBe('tooling/test/readme-blocks.cluster.test.ts');
    expect(inOrder(own)[0]).toBe('steps/04-operator/test/operator.cluster.test.ts');
  });

  test('KIT_LANES takes 1 or 2, and says so when given anything else', async () => {
    await expect(
      execFileAsync(`${KIT_ROOT}/kit`, ['test'], { env: { ...process.env, KIT_LANES: '3' } }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(
        'KIT_LANES=3: 2 (the default) runs the cluster suite in two lanes side by side, 1 every file one at a time',
      ),
    });
  });

  test('KIT_CLUSTER takes auto, 0 or 1, and says so when given anything else', async () => {
    await expect(
      execFileAsync(`${KIT_ROOT}/kit`, ['test'], { env: { ...process.env, KIT_CLUSTER: 'yes' } }),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('KIT_CLUSTER=yes: use auto (the default), 0 or 1'),
    });
  });

  test('one ./kit test at a time on a machine: a second one waits for the first, saying whose, and goes on when it ends', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-lock-'));
    const lock = join(dir, 'kit-test.lock'); // KIT_LOCK_DIR, the folder of the tests' own locks too
    writeFileSync(lock, 'pid 4242, /elsewhere/kube-selfops, since 2026-12-01 18:02:00\n'); // as a running ./kit test writes it
    const first = spawn('flock', ['-o', lock, 'sh', '-c', 'echo held; exec sleep 120']); // -o: flock alone holds it
    try {
      await new Promise<void>((held, failed) => {
        first.stdout.once('data', () => held());
        first.once('error', failed);
      });
      // Outside the running suite's own lock (KIT_TEST_LOCKED); KIT_LANES=3 makes the second run
      // stop, saying so, as soon as it has the lock.
      const env: NodeJS.ProcessEnv = { ...process.env, KIT_LOCK_DIR: dir, KIT_LANES: '3' };
      delete env.KIT_TEST_LOCKED;
      const second = spawn(`${KIT_ROOT}/kit`, ['test'], { env });
      let stderr = '';
      second.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const ended = new Promise<number | null>((done) => second.once('close', done));
      await eventually(
        'the second run to say it waits',
        () => Promise.resolve(stderr.includes('waiting') ? true : undefined),
        10_000,
      ).catch(() => undefined);
      expect(stderr).toContain(
        `another ./kit test is running on this machine (pid 4242, /elsewhere/kube-selfops, since 2026-12-01 18:02:00); waiting for it to end (lock: ${lock})`,
      );
      expect(second.exitCode).toBeNull(); // still waiting
      first.kill();
      expect(await ended).toBe(1);
      expect(stderr).toContain('KIT_LANES=3: 2 (the default)'); // it went on once the first had ended
      expect(readFileSync(lock, 'utf8')).toMatch(
        new RegExp(
          `^pid \\d+, ${KIT_ROOT.replace(/\/$/, '')}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n$`,
        ),
      );
    } finally {
      first.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failed test is named in the last lines of the output, so a CI log cut to its tail still says what failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-reporter-'));
    try {
      writeFileSync(
        join(dir, 'sample.test.js'),
        "test('adds up', () => { expect(1 + 1).toBe(3); });\ntest('passes', () => {});\n",
      );
      const summary = join(dir, 'summary');
      // A jest run of its own, with the kit's reporter, outside the kit's projects.
      const failed = await execFileAsync(
        join(KIT_ROOT, 'node_modules/.bin/jest'),
        [
          '--config',
          JSON.stringify({
            rootDir: dir,
            reporters: [`${KIT_ROOT}/tooling/testkit/summary-reporter.js`],
          }),
        ],
        { cwd: dir, env: { ...process.env, KIT_SUMMARY_FILE: summary } },
      ).then(
        () => undefined,
        (err: { code: number; stdout: string }) => err,
      );
      expect(failed?.code).toBe(1);
      const lastLines = [
        'failed: sample.test.js › adds up: Error: expect(received).toBe(expected) // Object.is equality',
        'tests: 1 passed, 1 failed, 0 skipped',
      ];
      expect(failed?.stdout.trim().split('\n').slice(-2)).toEqual(lastLines);
      // What ./kit test sums at its end: the failure line, then the counts.
      expect(readFileSync(summary, 'utf8')).toBe(`${lastLines[0]}\n1 1 0\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the last lines sum both runs and repeat their failures; a selection that matched no test fails, saying so', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-total-'));
    const total = async (lines: string, rc: number, selection = '') => {
      writeFileSync(join(dir, 'summary'), lines);
      return execFileAsync('awk', [
        '-v',
        `rc=${rc}`,
        '-v',
        `selection=${selection}`,
        '-f',
        join(KIT_ROOT, 'tooling/testkit/summary-total.awk'),
        join(dir, 'summary'),
      ]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }),
      );
    };
    try {
      // The Docker run (a failure), then the cluster run.
      expect(await total('failed: a.test.ts › b: Error\n3 1 0\n2 0 1\n', 1)).toEqual({
        code: 0,
        stdout: '\nfailed: a.test.ts › b: Error\n\ntests: 5 passed, 1 failed, 1 skipped\n',
      });
      // A run that crashed before reporting still counts.
      expect((await total('4 0 0\n', 1)).stdout).toContain('tests: 4 passed, 1 failed, 0 skipped');
      // ./kit test x.cluster.test.ts with KIT_CLUSTER=0: both runs found nothing (--passWithNoTests).
      expect(await total('0 0 0\n', 0, 'steps/04-operator/test/operator.cluster.test.ts')).toEqual({
        code: 1,
        stdout:
          '\ntests: 0 passed, 0 failed, 0 skipped\nno test matched steps/04-operator/test/operator.cluster.test.ts: nothing was proven\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
