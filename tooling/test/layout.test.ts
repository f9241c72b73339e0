/**
 * The house's layout, as docs/ARCHITECTURE.md tells it: every room of tooling/ is on that page,
 * every path the page names exists, and what runs at run time never imports the tests' helpers
 * (tooling/testkit): the run-time library is tooling/lib.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KIT_ROOT } from '@kit/testkit';

const architecture = readFileSync(join(KIT_ROOT, 'docs/ARCHITECTURE.md'), 'utf8');
const named = new Set([...architecture.matchAll(/`([^`\s]+)`/g)].map((m) => m[1]!));

test('every file and folder of tooling/ is named on docs/ARCHITECTURE.md', () => {
  const rooms = readdirSync(join(KIT_ROOT, 'tooling')).filter((name) => name !== 'node_modules');
  const missing = rooms.filter(
    (name) =>
      ![...named].some(
        (text) =>
          [name, `tooling/${name}`].includes(text.replace(/\/$/, '')) ||
          text.startsWith(`tooling/${name}/`),
      ),
  );
  expect(missing).toEqual([]);
});

test('every path docs/ARCHITECTURE.md names exists', () => {
  const paths = [...named].filter(
    (text) =>
      /^(tooling|k8s|load|slides|steps|docs|\.ci)\/[\w./-]*$/.test(text) &&
      !/\bNN\b|STEP/.test(text),
  );
  expect(paths.length).toBeGreaterThan(10);
  expect(paths.filter((path) => !existsSync(join(KIT_ROOT, path.replace(/\/$/, ''))))).toEqual([]);
});

test('run-time code never imports the test helpers (tooling/testkit)', () => {
  const files = execFileSync(
    'git',
    ['ls-files', '-co', '--exclude-standard', 'tooling', 'slides', 'load'],
    { cwd: KIT_ROOT, encoding: 'utf8' },
  )
    .split('\n')
    .filter((file) => /\.(ts|mjs|js)$/.test(file) && !file.includes('node_modules/'))
    .filter((file) => !file.startsWith('tooling/test/') && !file.startsWith('tooling/testkit/'));
  expect(files).toEqual(
    expect.arrayContaining([
      'tooling/deploy.ts',
      'tooling/bench/autoscalers.ts',
      'tooling/demo/main.ts',
    ]),
  );
  const importing = files.filter((file) =>
    /from ['"](@kit\/testkit|[./]*\/?testkit\/[^'"]*)['"]/.test(
      readFileSync(join(KIT_ROOT, file), 'utf8'),
    ),
  );
  expect(importing).toEqual([]);
});
