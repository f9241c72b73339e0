/**
 * holdLock (tooling/testkit/lock.ts), the lock the cluster suite's two lanes share, with the real
 * flock(1): shared holders run together, an exclusive holder waits for them all and they for it,
 * and a holder whose process dies releases it.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

process.env.KIT_LOCK_DIR = mkdtempSync(`${tmpdir()}/kit-lock-test-`);
const { holdLock, LOCK_DIR } = await import('../testkit/lock.js');
afterAll(() => rmSync(LOCK_DIR, { recursive: true, force: true }));

/** Resolves to 'held' if the lock is taken within MS, else 'waiting' (and releases it when it comes). */
async function within(ms: number, take: Promise<() => Promise<void>>): Promise<'held' | 'waiting'> {
  const outcome = await Promise.race([
    take.then(() => 'held' as const),
    sleep(ms).then(() => 'waiting' as const),
  ]);
  if (outcome === 'waiting') void take.then((release) => release());
  return outcome;
}

test('shared holders hold it together; an exclusive one waits for the last of them', async () => {
  const a = await holdLock('crd', 'shared');
  const b = await holdLock('crd', 'shared');
  const exclusive = holdLock('crd', 'exclusive');
  let heldAt = 0;
  void exclusive.then(() => (heldAt = Date.now()));
  await sleep(300);
  expect(heldAt).toBe(0);
  await a();
  await sleep(300);
  expect(heldAt).toBe(0); // b still holds it
  const releasedAt = Date.now();
  await b();
  const release = await exclusive;
  expect(heldAt).toBeGreaterThanOrEqual(releasedAt);
  expect(await within(300, holdLock('crd', 'shared'))).toBe('waiting'); // and a shared one waits for the exclusive
  await release();
  const again = await holdLock('crd', 'shared');
  await again();
});

test('locks of other names are independent', async () => {
  const release = await holdLock('one', 'exclusive');
  expect(
    await within(
      1000,
      holdLock('two', 'exclusive').then(async (r) => {
        await r();
        return r;
      }),
    ),
  ).toBe('held');
  await release();
});

test('a holder that dies releases the lock', async () => {
  // Another process takes it exclusive, as holdLock's child does, and is killed: the lock is free again.
  const other = spawn('sh', ['-c', `exec 9>>'${LOCK_DIR}/crd.lock'; flock -x 9; exec sleep 60`], {
    stdio: 'ignore',
  });
  await sleep(300);
  expect(await within(300, holdLock('crd', 'shared'))).toBe('waiting');
  other.kill('SIGKILL');
  const release = await holdLock('crd', 'shared');
  await release();
});

test('a name that is not a plain word is refused', async () => {
  await expect(holdLock('../etc', 'shared')).rejects.toThrow('use a-z, 0-9 and -');
});
