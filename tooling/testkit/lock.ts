/**
 * A lock that the jest processes of the cluster suite share: `./kit test` runs two lanes of
 * cluster test files at once (jest.config.js), and the LatencyScaler CRD, cluster-wide, is the one
 * thing both lanes touch. Its users hold it shared, so they run side by side; a file whose README
 * blocks delete it holds it exclusive, so it waits for them and they for it.
 *
 * Hand-written because no npm package gives shared and exclusive locks across processes without
 * native code: flock(1) (util-linux) on a file does, held by a child process until release, and
 * a test process that dies releases it with its child.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';

export type LockMode = 'shared' | 'exclusive';

/** Where the lock files live: one per name, the same for every process on this machine. */
export const LOCK_DIR = process.env.KIT_LOCK_DIR ?? `${tmpdir()}/kube-selfops-locks`;

/**
 * Waits until the lock NAME is held in MODE, then returns its release. Says so on stderr when it
 * has to wait, so a file that sits still tells why.
 */
export async function holdLock(name: string, mode: LockMode): Promise<() => Promise<void>> {
  if (!/^[a-z0-9-]+$/.test(name))
    throw new Error(`lock name ${JSON.stringify(name)}: use a-z, 0-9 and -`);
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = `${LOCK_DIR}/${name}.lock`;
  // -n first: a lock that is free is taken at once, and a wait is announced.
  const script = `exec 9>>'${file}'; flock -n ${mode === 'shared' ? '-s' : '-x'} 9 || { echo waiting; flock ${mode === 'shared' ? '-s' : '-x'} 9; }; echo held; exec cat >/dev/null`;
  const holder = spawn('sh', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  holder.on('error', () => undefined); // reported below, as the exit
  let out = '';
  await new Promise<void>((resolve, reject) => {
    holder.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('waiting\n') && !out.includes('held')) {
        process.stderr.write(
          `waiting for the ${mode} lock ${file} (another cluster test file holds it)\n`,
        );
        out = out.replace('waiting\n', '');
      }
      if (out.includes('held\n')) resolve();
    });
    holder.once('exit', (code) =>
      reject(
        new Error(
          `flock ${file} ended (exit ${code}) before the lock was held: is flock (util-linux) installed?`,
        ),
      ),
    );
  });
  return async () => {
    if (holder.exitCode !== null) return;
    const exited = once(holder, 'exit');
    holder.stdin.end();
    await exited;
  };
}
