/** The steps stay consistent snapshots: the same dependency versions, each step's version in its
 * manifests, and every CHANGES.diff current. */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';

const execFileAsync = promisify(execFile);
const steps = readdirSync(`${KIT_ROOT}/steps`).sort();
const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');
interface PackageJson {
  version: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

describe('steps are consistent snapshots', () => {
  test.each(steps.slice(1))(
    '%s/CHANGES.diff is what tooling/step-diff.sh prints now',
    async (step) => {
      const { stdout } = await execFileAsync(`${KIT_ROOT}/tooling/step-diff.sh`, [step]);
      expect(read(`steps/${step}/CHANGES.diff`)).toBe(stdout); // stale? run tooling/step-diff.sh --write
    },
  );

  test('a dependency has the same version in every step that uses it (package.json and lockfile)', () => {
    const seen = new Map<string, Map<string, string>>(); // name -> version -> first step
    // Each step's app, and its operator (step 04 on), which shares typescript, pino, prom-client...
    const packages = steps
      .flatMap((step) => [step, `${step}/operator`])
      .filter((dir) => existsSync(`${KIT_ROOT}/steps/${dir}/package.json`));
    for (const step of packages) {
      const pkg = JSON.parse(read(`steps/${step}/package.json`)) as PackageJson;
      const lock = JSON.parse(read(`steps/${step}/package-lock.json`)) as {
        packages: Record<string, { version?: string }>;
      };
      const declared = { ...pkg.dependencies, ...pkg.devDependencies };
      // The operator's own tree (client-node's dependencies) may differ below its declared dependencies.
      const own = step.endsWith('/operator')
        ? new Set(Object.keys(declared).map((name) => `node_modules/${name}`))
        : undefined;
      const installed = Object.entries(lock.packages)
        .filter(([path]) => path.startsWith('node_modules/') && (!own || own.has(path)))
        .map(([path, meta]) => [path, meta.version ?? ''] as const);
      for (const [name, version] of [
        ...Object.entries(declared).map(([n, v]) => [`declared ${n}`, v] as const),
        ...installed,
      ]) {
        const versions = seen.get(name) ?? new Map<string, string>();
        if (!versions.has(version)) versions.set(version, step);
        seen.set(name, versions);
      }
    }
    const drift = [...seen]
      .filter(([, versions]) => versions.size > 1)
      .map(
        ([name, versions]) =>
          `${name}: ${[...versions].map(([v, s]) => `${v} (${s})`).join(' vs ')}`,
      );
    expect(drift).toEqual([]);
  });

  test.each(steps)(
    '%s: the version in package.json is the image tag its manifest deploys',
    (step) => {
      const { version } = JSON.parse(read(`steps/${step}/package.json`)) as PackageJson;
      expect(read(`steps/${step}/deploy/app.yaml`)).toContain(`image: hits:${version}\n`);
      expect(read(`steps/${step}/README.md`)).toContain(`docker build -t hits:${version} .`);
    },
  );

  test.each(steps)(
    '%s/README.md quotes only code that is really in the step (TypeScript blocks, src/ and operator/src/)',
    (step) => {
      const files = (dir: string): string[] =>
        readdirSync(`${KIT_ROOT}/${dir}`).flatMap((name) =>
          statSync(`${KIT_ROOT}/${dir}/${name}`).isDirectory()
            ? files(`${dir}/${name}`)
            : [`${dir}/${name}`],
        );
      const sources = [`steps/${step}/src`, `steps/${step}/operator/src`].filter((dir) =>
        existsSync(`${KIT_ROOT}/${dir}`),
      );
      const source = new Set(
        sources.flatMap(files).flatMap((file) =>
          read(file)
            .split('\n')
            .map((line) => line.trim()),
        ),
      );
      const quoted = [...read(`steps/${step}/README.md`).matchAll(/```ts\n([\s\S]*?)```/g)]
        .flatMap((block) => (block[1] ?? '').split('\n').map((line) => line.trim()))
        .filter((line) => line !== '' && line !== '...');
      expect(quoted.filter((line) => !source.has(line))).toEqual([]);
    },
  );

  test.each(steps)(
    '%s/README.md quotes PromQL only as it stands in k8s/prometheus/rules.yml',
    (step) => {
      const rules = new Set(
        read('k8s/prometheus/rules.yml')
          .split('\n')
          .map((line) => line.trim()),
      );
      const quoted = [...read(`steps/${step}/README.md`).matchAll(/```promql\n([\s\S]*?)```/g)]
        .flatMap((block) => (block[1] ?? '').split('\n').map((line) => line.trim()))
        .filter((line) => line !== '');
      expect(quoted.filter((line) => !rules.has(line))).toEqual([]);
    },
  );

  test.each(steps)('%s has what an attendee needs: Dockerfile, deploy/, tests, README', (step) => {
    for (const part of [
      'Dockerfile',
      '.dockerignore',
      'package-lock.json',
      'deploy/app.yaml',
      'test',
      'README.md',
    ]) {
      expect(existsSync(`${KIT_ROOT}/steps/${step}/${part}`)).toBe(true);
    }
  });
});
