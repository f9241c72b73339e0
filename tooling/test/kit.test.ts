/** The kit's own promises: steps stay consistent snapshots, and `./kit up` does what the README says. */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT, eventually } from '@kit/testkit';

const execFileAsync = promisify(execFile);
const steps = readdirSync(`${KIT_ROOT}/steps`).sort();
const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');

interface PackageJson {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

describe('steps are consistent snapshots', () => {
  test.each(steps.slice(1))('%s/CHANGES.diff is what tooling/step-diff.sh prints now', async (step) => {
    const { stdout } = await execFileAsync(`${KIT_ROOT}/tooling/step-diff.sh`, [step]);
    expect(read(`steps/${step}/CHANGES.diff`)).toBe(stdout); // stale? run tooling/step-diff.sh --write
  });

  test('a dependency has the same version in every step that uses it (package.json and lockfile)', () => {
    const seen = new Map<string, Map<string, string>>(); // name -> version -> first step
    // Each step's app, and its operator (step 04 on), which shares typescript, pino, prom-client...
    const packages = steps.flatMap((step) => [step, `${step}/operator`]).filter((dir) => existsSync(`${KIT_ROOT}/steps/${dir}/package.json`));
    for (const step of packages) {
      const pkg = JSON.parse(read(`steps/${step}/package.json`)) as PackageJson;
      const lock = JSON.parse(read(`steps/${step}/package-lock.json`)) as { packages: Record<string, { version?: string }> };
      const declared = { ...pkg.dependencies, ...pkg.devDependencies };
      // The operator's own tree (client-node's dependencies) may differ below its declared dependencies.
      const own = step.endsWith('/operator') ? new Set(Object.keys(declared).map((name) => `node_modules/${name}`)) : undefined;
      const installed = Object.entries(lock.packages)
        .filter(([path]) => path.startsWith('node_modules/') && (!own || own.has(path)))
        .map(([path, meta]) => [path, meta.version ?? ''] as const);
      for (const [name, version] of [...Object.entries(declared).map(([n, v]) => [`declared ${n}`, v] as const), ...installed]) {
        const versions = seen.get(name) ?? new Map<string, string>();
        if (!versions.has(version)) versions.set(version, step);
        seen.set(name, versions);
      }
    }
    const drift = [...seen].filter(([, versions]) => versions.size > 1).map(([name, versions]) => `${name}: ${[...versions].map(([v, s]) => `${v} (${s})`).join(' vs ')}`);
    expect(drift).toEqual([]);
  });

  test.each(steps)('%s: the version in package.json is the image tag its manifest deploys', (step) => {
    const { version } = JSON.parse(read(`steps/${step}/package.json`)) as PackageJson;
    expect(read(`steps/${step}/deploy/app.yaml`)).toContain(`image: hits:${version}\n`);
    expect(read(`steps/${step}/README.md`)).toContain(`docker build -t hits:${version} .`);
  });

  test.each(steps)('%s/README.md quotes only code that is really in the step (TypeScript blocks, src/ and operator/src/)', (step) => {
    const files = (dir: string): string[] =>
      readdirSync(`${KIT_ROOT}/${dir}`).flatMap((name) =>
        statSync(`${KIT_ROOT}/${dir}/${name}`).isDirectory() ? files(`${dir}/${name}`) : [`${dir}/${name}`],
      );
    const sources = [`steps/${step}/src`, `steps/${step}/operator/src`].filter((dir) => existsSync(`${KIT_ROOT}/${dir}`));
    const source = new Set(sources.flatMap(files).flatMap((file) => read(file).split('\n').map((line) => line.trim())));
    const quoted = [...read(`steps/${step}/README.md`).matchAll(/```ts\n([\s\S]*?)```/g)]
      .flatMap((block) => (block[1] ?? '').split('\n').map((line) => line.trim()))
      .filter((line) => line !== '' && line !== '...');
    expect(quoted.filter((line) => !source.has(line))).toEqual([]);
  });

  test.each(steps)('%s/README.md quotes PromQL only as it stands in k8s/prometheus/rules.yml', (step) => {
    const rules = new Set(read('k8s/prometheus/rules.yml').split('\n').map((line) => line.trim()));
    const quoted = [...read(`steps/${step}/README.md`).matchAll(/```promql\n([\s\S]*?)```/g)]
      .flatMap((block) => (block[1] ?? '').split('\n').map((line) => line.trim()))
      .filter((line) => line !== '');
    expect(quoted.filter((line) => !rules.has(line))).toEqual([]);
  });

  test.each(steps)('%s has what an attendee needs: Dockerfile, deploy/, tests, README', (step) => {
    for (const part of ['Dockerfile', '.dockerignore', 'package-lock.json', 'deploy/app.yaml', 'test', 'README.md']) {
      expect(existsSync(`${KIT_ROOT}/steps/${step}/${part}`)).toBe(true);
    }
  });
});

describe('./kit up, the README\'s first command', () => {
  const port = '18080';
  const kit = (...args: string[]) =>
    execFileAsync(`${KIT_ROOT}/kit`, args, { env: { ...process.env, PORT: port }, maxBuffer: 16 * 1024 * 1024 });
  // ./kit down keeps the Redis volume, as it says; the test forgets it too.
  afterAll(() => kit('down').then(() => execFileAsync('docker', ['volume', 'rm', 'hits-kit-redis'])));

  test('runs the chosen step with Redis in Docker and prints the URL that serves it', async () => {
    const { stdout } = await kit('up', '02');
    expect(stdout).toContain(`open http://127.0.0.1:${port}/`);
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('<dd id="version">1.2.0</dd>');
    expect(page).toContain('<dd id="redis">connected</dd>');
  });

  test('a step that does not exist gets a clear error listing the steps', async () => {
    await expect(kit('up', '99')).rejects.toMatchObject({ stderr: expect.stringContaining("no step '99'. Steps: 00-broken-app") });
  });
});

describe('./kit commands from a fresh clone', () => {
  // A fresh clone has no node_modules: a command whose script imports an npm package must run
  // ensure_deps (npm ci) before it. `./kit bench autoscalers` did not, and failed on its first
  // import from a fresh clone; this reads kit and the scripts instead of cloning and running them.
  const npmImports = (file: string, seen = new Set<string>()): string[] => {
    if (seen.has(file)) return [];
    seen.add(file);
    return [...read(file).matchAll(/^import [^;]*? from '([^']+)';$/gm)].flatMap(([, spec]) =>
      spec!.startsWith('.') ? npmImports(join(dirname(file), spec!), seen) : spec!.startsWith('node:') ? [] : [spec!]);
  };

  test('a command that runs a script with npm imports installs the dependencies first (ensure_deps)', () => {
    const functions = read('kit').split(/\n(?=[a-z_]+\(\) \{)/); // one shell function each
    const runs = functions.flatMap((body) => [...body.matchAll(/\bnode (tooling\/\S+\.ts)/g)].map((m) => ({
      where: `${/^[a-z_]+/.exec(body)?.[0]}: node ${m[1]}`, imports: npmImports(m[1]!), installed: body.slice(0, m.index).includes('ensure_deps'),
    })));
    // The check sees the scripts that need node_modules (a new one joins this list on purpose).
    expect(runs.filter((run) => run.imports.length > 0).map((run) => run.where))
      .toEqual(['cmd_demo: node tooling/demo/main.ts', 'cmd_graph: node tooling/graph.ts', 'cmd_bench: node tooling/bench/autoscalers.ts']);
    expect(runs.filter((run) => run.imports.length > 0 && !run.installed).map((run) => `${run.where} imports ${run.imports.join(', ')}`)).toEqual([]);
  });
});

describe('./kit test: the cluster suite runs in two lanes of one file at a time, and under CI=true it cannot be skipped', () => {
  const jestEnv = (suite: string, lane = '') => ({ ...process.env, KIT_SUITE: suite, KIT_LANE: lane });
  const jestConfig = async (suite: string, lane = '') => {
    const script = "import('./jest.config.js').then(({ default: c }) => console.log(JSON.stringify({ maxWorkers: c.maxWorkers ?? null })))";
    const { stdout } = await execFileAsync(process.execPath, ['-e', script], { cwd: KIT_ROOT, env: jestEnv(suite, lane) });
    return JSON.parse(stdout) as { maxWorkers: number | null };
  };
  const jest = (lane: string, ...args: string[]) =>
    execFileAsync(join(KIT_ROOT, 'node_modules/.bin/jest'), args, { cwd: KIT_ROOT, env: { ...jestEnv('cluster', lane), NODE_OPTIONS: '--experimental-vm-modules --no-warnings=ExperimentalWarning' }, maxBuffer: 16 * 1024 * 1024 });
  const files = async (lane: string) => (await jest(lane, '--listTests')).stdout.trim().split('\n').map((path) => relative(KIT_ROOT, path)).sort();

  test('jest.config.js: each lane of the cluster suite has one worker whatever the cores; the Docker suite, jest\'s default', async () => {
    for (const lane of ['shared', 'own', '']) expect(await jestConfig('cluster', lane)).toEqual({ maxWorkers: 1 });
    expect(await jestConfig('docker')).toEqual({ maxWorkers: null });
    // ...and jest really takes it: the resolved configuration it runs with.
    const { stdout } = await jest('own', '--showConfig');
    expect((JSON.parse(stdout) as { globalConfig: { maxWorkers: number } }).globalConfig.maxWorkers).toBe(1);
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
    await expect(execFileAsync(process.execPath, ['-e', "import('./jest.config.js')"], { cwd: KIT_ROOT, env: jestEnv('cluster', 'fast') }))
      .rejects.toMatchObject({ stderr: expect.stringContaining('KIT_LANE=fast: use shared or own') });
  });

  test('a file of the own lane names none of what the shared lane\'s files share', async () => {
    // The namespaces hits and monitoring, the fixed NodePorts and host ports, `./kit up`, the
    // shipped Prometheus as it is (deployPrometheusFor moves it), and an Ingress (deployStep
    // without `ingress: false`). The CRD is shared under a lock instead (tooling/testkit/lock.ts).
    const shared = /('-n', '|namespace[=:] ?["'`]?|[nN]amespace\(['"`]|NS = ['"`])(hits|monitoring)\b|\b(30080|30090|8080|9090)\b|deletePrometheus|k8s\/prometheus(?!-)|'up', '0/;
    for (const file of await files('own')) {
      const source = readFileSync(join(KIT_ROOT, file), 'utf8');
      const code = source.split('\n').filter((line) => !/^\s*(\*|\/\*|\/\/)/.test(line)); // not the comments
      const ingress = (line: string) => line.includes('deployStep(') && !line.includes('{ ingress: false }');
      expect(`${file}: ${code.filter((line) => shared.test(line) || ingress(line)).join(' | ')}`).toBe(`${file}: `);
    }
  });

  test("CI=true as a user who may not use Docker, so cannot run the kit's cluster: exit 1 at once, saying why and what to do", async () => {
    const home = mkdtempSync(join(tmpdir(), 'kit-nonroot-'));
    chmodSync(home, 0o777);
    const env = { PATH: process.env.PATH ?? '', HOME: home, KIT_CACHE: join(home, 'cache'), CI: 'true', KIT_CLUSTER: 'auto' };
    // As root, the same command as the unprivileged user nobody.
    const [file, args] = process.getuid?.() === 0 ? ['runuser', ['-u', 'nobody', '--', 'env', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), 'bash', `${KIT_ROOT}/kit`, 'test']] : ['bash', [`${KIT_ROOT}/kit`, 'test']];
    try {
      const started = Date.now();
      await expect(execFileAsync(file, args, { env: { ...process.env, ...env } })).rejects.toMatchObject({
        code: 1,
        stderr: expect.stringContaining("CI=true, but the cluster tests cannot run: the kit's cluster needs a Docker engine on Linux that this user may use"),
      });
      expect(Date.now() - started).toBeLessThan(10_000); // before installing or testing anything
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test('the order in each lane: the longest file first, the exclusive CRD holder last (tooling/testkit/sequencer.js)', async () => {
    const { rank } = (await import(join(KIT_ROOT, 'tooling/testkit/sequencer.js'))) as { rank: (path: string) => number };
    const inOrder = (lane: string[]) => [...lane].sort((a, b) => rank(a) - rank(b));
    const [shared, own] = [await files('shared'), await files('own')];
    expect(inOrder(shared)[0]).toBe('tooling/test/demo.cluster.test.ts');
    expect(inOrder(shared).at(-1)).toBe('tooling/test/readme-blocks.cluster.test.ts');
    expect(inOrder(own)[0]).toBe('steps/04-operator/test/operator.cluster.test.ts');
  });

  test('KIT_LANES takes 1 or 2, and says so when given anything else', async () => {
    await expect(execFileAsync(`${KIT_ROOT}/kit`, ['test'], { env: { ...process.env, KIT_LANES: '3' } })).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('KIT_LANES=3: 2 (the default) runs the cluster suite in two lanes side by side, 1 every file one at a time'),
    });
  });

  test('KIT_CLUSTER takes auto, 0 or 1, and says so when given anything else', async () => {
    await expect(execFileAsync(`${KIT_ROOT}/kit`, ['test'], { env: { ...process.env, KIT_CLUSTER: 'yes' } })).rejects.toMatchObject({
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
      await new Promise<void>((held, failed) => { first.stdout.once('data', () => held()); first.once('error', failed); });
      // Outside the running suite's own lock (KIT_TEST_LOCKED); KIT_LANES=3 makes the second run
      // stop, saying so, as soon as it has the lock.
      const env: NodeJS.ProcessEnv = { ...process.env, KIT_LOCK_DIR: dir, KIT_LANES: '3' };
      delete env.KIT_TEST_LOCKED;
      const second = spawn(`${KIT_ROOT}/kit`, ['test'], { env });
      let stderr = '';
      second.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
      const ended = new Promise<number | null>((done) => second.once('close', done));
      await eventually('the second run to say it waits', () => Promise.resolve(stderr.includes('waiting') ? true : undefined), 10_000).catch(() => undefined);
      expect(stderr).toContain(`another ./kit test is running on this machine (pid 4242, /elsewhere/kube-selfops, since 2026-12-01 18:02:00); waiting for it to end (lock: ${lock})`);
      expect(second.exitCode).toBeNull(); // still waiting
      first.kill();
      expect(await ended).toBe(1);
      expect(stderr).toContain('KIT_LANES=3: 2 (the default)'); // it went on once the first had ended
      expect(readFileSync(lock, 'utf8')).toMatch(new RegExp(`^pid \\d+, ${KIT_ROOT.replace(/\/$/, '')}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\n$`));
    } finally {
      first.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a failed test is named in the last lines of the output, so a CI log cut to its tail still says what failed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-reporter-'));
    try {
      writeFileSync(join(dir, 'sample.test.js'), "test('adds up', () => { expect(1 + 1).toBe(3); });\ntest('passes', () => {});\n");
      const summary = join(dir, 'summary');
      // A jest run of its own, with the kit's reporter, outside the kit's projects.
      const failed = await execFileAsync(join(KIT_ROOT, 'node_modules/.bin/jest'), ['--config', JSON.stringify({ rootDir: dir, reporters: [`${KIT_ROOT}/tooling/testkit/summary-reporter.js`] })],
        { cwd: dir, env: { ...process.env, KIT_SUMMARY_FILE: summary } }).then(() => undefined, (err: { code: number; stdout: string }) => err);
      expect(failed?.code).toBe(1);
      const lastLines = ['failed: sample.test.js › adds up: Error: expect(received).toBe(expected) // Object.is equality', 'tests: 1 passed, 1 failed, 0 skipped'];
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
      return execFileAsync('awk', ['-v', `rc=${rc}`, '-v', `selection=${selection}`, '-f', join(KIT_ROOT, 'tooling/testkit/summary-total.awk'), join(dir, 'summary')])
        .then(({ stdout }) => ({ code: 0, stdout }), (err: { code: number; stdout: string }) => ({ code: err.code, stdout: err.stdout }));
    };
    try {
      // The Docker run (a failure), then the cluster run.
      expect(await total('failed: a.test.ts › b: Error\n3 1 0\n2 0 1\n', 1)).toEqual({ code: 0, stdout: '\nfailed: a.test.ts › b: Error\n\ntests: 5 passed, 1 failed, 1 skipped\n' });
      // A run that crashed before reporting still counts.
      expect((await total('4 0 0\n', 1)).stdout).toContain('tests: 4 passed, 1 failed, 0 skipped');
      // ./kit test x.cluster.test.ts with KIT_CLUSTER=0: both runs found nothing (--passWithNoTests).
      expect(await total('0 0 0\n', 0, 'steps/04-operator/test/operator.cluster.test.ts'))
        .toEqual({ code: 1, stdout: '\ntests: 0 passed, 0 failed, 0 skipped\nno test matched steps/04-operator/test/operator.cluster.test.ts: nothing was proven\n' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("tooling/debian-mirror.sh: debootstrap's archive from this machine's apt sources", () => {
  let etc: string;
  beforeEach(() => {
    etc = mkdtempSync(join(tmpdir(), 'kit-apt-'));
    mkdirSync(join(etc, 'sources.list.d'));
  });
  afterEach(() => rmSync(etc, { recursive: true, force: true }));
  const mirror = (env: Record<string, string> = {}) =>
    execFileAsync(`${KIT_ROOT}/tooling/debian-mirror.sh`, ['bookworm'], { env: { ...process.env, KIT_DEBIAN_MIRROR: '', KIT_APT_ETC: etc, ...env } });
  const write = (name: string, text: string) => writeFileSync(join(etc, name), text);

  test('one-line sources.list: the first deb entry of the suite itself with main (not -security, -updates, deb-src, comments)', async () => {
    write('sources.list', [
      '# deb http://commented.example.test/debian bookworm main',
      'deb-src http://source.example.test/debian bookworm main',
      'deb http://security.example.test/debian-security bookworm-security main',
      'deb http://updates.example.test/debian bookworm-updates main',
      'deb http://contrib-only.example.test/debian bookworm contrib',
      'deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://apt.example.test/debian/ bookworm main contrib',
      'deb http://second.example.test/debian bookworm main',
    ].join('\n'));
    expect((await mirror()).stdout).toBe('http://apt.example.test/debian\n');
  });

  test('deb822 .sources (as Debian 12 installs it): Enabled: no is skipped, the first http URI of a stanza is taken', async () => {
    write('sources.list.d/debian.sources', [
      'Types: deb',
      'URIs: http://disabled.example.test/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      'Types: deb deb-src',
      '# a comment inside the stanza',
      'URIs: mirror+file:///etc/apt/mirrors.txt',
      ' http://proxy.example.test:3142/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main non-free-firmware',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://proxy.example.test:3142/debian-security',
      'Suites: bookworm-security',
      'Components: main',
    ].join('\n'));
    write('sources.list.d/other.sources.disabled', 'Types: deb\nURIs: http://ignored.example.test/debian\nSuites: bookworm\nComponents: main\n');
    expect((await mirror()).stdout).toBe('http://proxy.example.test:3142/debian\n');
  });

  test('sources.list comes before sources.list.d, and a .list file there counts too', async () => {
    write('sources.list.d/local.list', 'deb http://list-d.example.test/debian bookworm main\n');
    expect((await mirror()).stdout).toBe('http://list-d.example.test/debian\n');
    write('sources.list', 'deb http://first.example.test/debian bookworm main\n');
    expect((await mirror()).stdout).toBe('http://first.example.test/debian\n');
  });

  test('KIT_DEBIAN_MIRROR overrides; with no source for the suite, deb.debian.org, said on stderr', async () => {
    write('sources.list', 'deb http://archive.example.test/ubuntu jammy main\n');
    expect((await mirror({ KIT_DEBIAN_MIRROR: 'http://override.example.test/debian' })).stdout).toBe('http://override.example.test/debian\n');
    const fallback = await mirror();
    expect(fallback.stdout).toBe('http://deb.debian.org/debian\n');
    expect(fallback.stderr).toContain(`no 'deb' source for bookworm main in ${etc}: debootstrap uses http://deb.debian.org/debian (set KIT_DEBIAN_MIRROR=URL to choose)`);
  });
});

describe('./kit doctor: what is missing, one line each, with the fix', () => {
  const scratch: string[] = [];
  afterAll(() => scratch.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  /** PATH as it is, less the named programs (each PATH folder that has one becomes a folder of links to the rest). */
  const pathWithout = (...missing: string[]) =>
    (process.env.PATH ?? '').split(delimiter).map((dir) => {
      if (!missing.some((name) => existsSync(join(dir, name)))) return dir;
      const copy = mkdtempSync(join(tmpdir(), 'kit-path-'));
      scratch.push(copy);
      for (const name of readdirSync(dir)) if (!missing.includes(name)) symlinkSync(join(dir, name), join(copy, name));
      return copy;
    }).join(delimiter);
  const doctor = (env: Record<string, string>) => execFileAsync(`${KIT_ROOT}/kit`, ['doctor'], { env: { ...process.env, ...env } });
  const lineOf = (stdout: string, label: string) => stdout.split('\n').find((line) => line.replace(/^\S+\s+/, '').startsWith(`${label}:`));

  test('no kubectl, kind, k3d or minikube on PATH, and the port held by a listener: each one line with the fix, exit 0 (all optional)', async () => {
    const listener = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = String((listener.address() as AddressInfo).port);
    try {
      const { stdout } = await doctor({ PATH: pathWithout('kubectl', 'kind', 'k3d', 'minikube'), PORT: port });
      expect(lineOf(stdout, 'kubectl')).toMatch(/^warn +kubectl: +not on PATH: .*install it: https:\/\/kubernetes\.io\/docs\/tasks\/tools\/$/);
      expect(lineOf(stdout, 'kind')).toMatch(/^info +kind: +not installed \(only for a kind cluster: https:\/\/kind\.sigs\.k8s\.io\/\S+\)$/);
      expect(lineOf(stdout, 'k3d')).toMatch(/^info +k3d: +not installed/);
      expect(lineOf(stdout, 'minikube')).toMatch(/^info +minikube: +not installed/);
      expect(lineOf(stdout, `port ${port}`)).toMatch(new RegExp(`^warn +port ${port}: +busy, held by \\S+ \\(pid ${process.pid}\\): stop it, or choose another port: PORT=8081 ./kit up$`));
      expect(lineOf(stdout, 'Docker')).toMatch(/^ok +Docker: +engine \S+, CPU architecture (x86_64|aarch64|amd64|arm64)$/);
      expect(lineOf(stdout, 'disk (kit cache)')).toMatch(/^ok +disk \(kit cache\): +\d+ GiB free in .* \(the kit needs \d+\)$/);
    } finally {
      listener.close();
    }
  });

  test('a free port is said to be free', async () => {
    const listener = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = String((listener.address() as AddressInfo).port);
    await new Promise((resolve) => listener.close(resolve));
    expect(lineOf((await doctor({ PORT: port })).stdout, `port ${port}`)).toMatch(/^ok +port \d+: +free/);
  });

  test('Docker not answering and too little disk: FAIL lines with the fix, exit 1', async () => {
    const failure = doctor({ DOCKER_HOST: 'unix:///nonexistent/docker.sock', KIT_MIN_FREE_GIB: '100000000' });
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stdout } = await failure.catch((err: { stdout: string }) => err);
    expect(lineOf(stdout, 'Docker')).toMatch(/^FAIL +Docker: +installed, but the engine does not answer: start Docker/);
    expect(lineOf(stdout, 'disk (kit cache)')).toMatch(/^FAIL +disk \(kit cache\): +\d+ GiB free in .*, the kit needs 100000000: free some space/);
  });

  test("a kind context without kind: FAIL, naming the load command; with kind's load command there: ok", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kit-kind-'));
    scratch.push(dir);
    const kubeconfig = join(dir, 'config');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: kind-talk',
      'clusters: [{name: kind-talk, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: kind-talk, user: {token: not-a-secret}}]',
      'contexts: [{name: kind-talk, context: {cluster: kind-talk, user: kind-talk}}]',
    ].join('\n'));
    const env = { KUBECONFIG: kubeconfig, PATH: pathWithout('kind') };
    const failure = doctor(env);
    await expect(failure).rejects.toMatchObject({ code: 1 });
    const { stdout } = await failure.catch((err: { stdout: string }) => err);
    expect(lineOf(stdout, 'kubectl')).toMatch(/^warn +kubectl: +context kind-talk does not answer: start that cluster/);
    expect(lineOf(stdout, 'kind')).toMatch(/^FAIL +kind: +context kind-talk needs 'kind load docker-image', which is missing: install kind \(https:/);

    // A kind whose `load docker-image --help` works (a stand-in: the doctor asks nothing more of it).
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin/kind'), '#!/bin/sh\n[ "$1 $2 $3" = "load docker-image --help" ]\n', { mode: 0o755 });
    const withKind = await doctor({ ...env, PATH: `${join(dir, 'bin')}${delimiter}${env.PATH}` }).catch((err: { stdout: string }) => err);
    expect(lineOf(withKind.stdout, 'kind')).toMatch(/^ok +kind: +'kind load docker-image' is there$/);

    // The kit's own kind cluster: the kit loads with the kind it built, so none of yours is needed.
    writeFileSync(kubeconfig, readFileSync(kubeconfig, 'utf8').replaceAll('kind-talk', 'kind-kube-selfops'));
    const kit = await doctor(env).catch((err: { stdout: string }) => err);
    expect(lineOf(kit.stdout, 'kind')).toMatch(/^info +kind: +not installed \(only for a kind cluster: https:\/\/kind\.sigs\.k8s\.io\/\S+\)$/);
  });
});
