/** `./kit up` does what the README says, and every `./kit` command runs from a fresh clone. */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';

const execFileAsync = promisify(execFile);
const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');

describe("./kit up, the README's first command", () => {
  const port = '18080';
  const kit = (...args: string[]) =>
    execFileAsync(`${KIT_ROOT}/kit`, args, {
      env: { ...process.env, PORT: port },
      maxBuffer: 16 * 1024 * 1024,
    });
  // ./kit down keeps the Redis volume, as it says; the test forgets it too.
  afterAll(() =>
    kit('down').then(() => execFileAsync('docker', ['volume', 'rm', 'hits-kit-redis'])),
  );

  test('runs the chosen step with Redis in Docker and prints the URL that serves it', async () => {
    const { stdout } = await kit('up', '02');
    expect(stdout).toContain(`open http://127.0.0.1:${port}/`);
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain('<dd id="version">1.2.0</dd>');
    expect(page).toContain('<dd id="redis">connected</dd>');
  });

  test('a step that does not exist gets a clear error listing the steps', async () => {
    await expect(kit('up', '99')).rejects.toMatchObject({
      stderr: expect.stringContaining("no step '99'. Steps: 00-broken-app"),
    });
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
      spec!.startsWith('.')
        ? npmImports(join(dirname(file), spec!), seen)
        : spec!.startsWith('node:')
          ? []
          : [spec!],
    );
  };

  test('a command that runs a script with npm imports installs the dependencies first (ensure_deps)', () => {
    const functions = read('kit').split(/\n(?=[a-z_]+\(\) \{)/); // one shell function each
    const runs = functions.flatMap((body) =>
      [...body.matchAll(/\bnode (tooling\/\S+\.ts)/g)].map((m) => ({
        where: `${/^[a-z_]+/.exec(body)?.[0]}: node ${m[1]}`,
        imports: npmImports(m[1]!),
        installed: body.slice(0, m.index).includes('ensure_deps'),
      })),
    );
    // The check sees the scripts that need node_modules (a new one joins this list on purpose).
    expect(runs.filter((run) => run.imports.length > 0).map((run) => run.where)).toEqual([
      'cmd_demo: node tooling/demo/main.ts',
      'cmd_graph: node tooling/graph.ts',
      'cmd_bench: node tooling/bench/autoscalers.ts',
    ]);
    expect(
      runs
        .filter((run) => run.imports.length > 0 && !run.installed)
        .map((run) => `${run.where} imports ${run.imports.join(', ')}`),
    ).toEqual([]);
  });
});
