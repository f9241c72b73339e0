/**
 * The kit's linters (tooling/lint.sh), one test each, so that ./kit test and CI run them and a
 * finding fails with the linter's own report: ESLint with types (and, in the steps' sources, lines
 * of at most 100 columns), Prettier's format (`npm run format` fixes it), shellcheck.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KIT_ROOT } from '@kit/testkit';

const execFileAsync = promisify(execFile);

/** The linter's output when it fails ('' when it passes), so that jest shows what it found. */
const findings = (linter: string) =>
  execFileAsync(`${KIT_ROOT}/tooling/lint.sh`, [linter], { maxBuffer: 64 * 1024 * 1024 }).then(
    () => '',
    (err: { stdout?: string; stderr?: string; message: string }) =>
      `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || err.message,
  );

test.each(['eslint', 'prettier', 'shellcheck'])(
  '%s finds nothing',
  async (linter) => {
    expect(await findings(linter)).toBe('');
  },
  300_000,
);
