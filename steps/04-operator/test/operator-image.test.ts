/**
 * The operator's image, built from operator/ with `docker build` as an attendee does: it runs
 * as the unprivileged `node` user, and a bad setting stops it at once with a message naming it.
 * (What it does on a cluster is proven by operator.cluster.test.ts.)
 */
import { docker, dockerRunToExit, eventually, jsonLogLines, KIT_ROOT } from '@kit/testkit';

const TAG = 'kube-selfops/04-operator-operator:test';

test('builds, runs as node, and fails fast on a bad WATCH_NAMESPACE', async () => {
  await docker('build', '-q', '-t', TAG, `${KIT_ROOT}/steps/04-operator/operator`);
  expect(
    (
      await docker('image', 'inspect', '-f', '{{.Config.User}} {{json .Config.Entrypoint}}', TAG)
    ).trim(),
  ).toBe('node ["node","dist/main.js"]');
  const { exitCode, output } = await dockerRunToExit(TAG, { WATCH_NAMESPACE: 'Not_A_Namespace' });
  const [line] = jsonLogLines<{ level: string; msg: string; err: { message: string } }>(output);
  expect(exitCode).toBe(1);
  expect(line).toMatchObject({ level: 'fatal', msg: 'invalid configuration' });
  expect(line?.err.message).toBe(
    'WATCH_NAMESPACE=Not_A_Namespace is not valid: expected a namespace name, e.g. hits',
  );
}, 180_000);

test('/healthz follows the worker and /readyz the Lease: with no API server, alive but not ready', async () => {
  await docker('build', '-q', '-t', TAG, `${KIT_ROOT}/steps/04-operator/operator`);
  // No cluster: the caches never fill, so it never tries the Lease; its tick still runs.
  const id = (
    await docker(
      'run',
      '-d',
      '--label',
      'org.testcontainers=true',
      '-e',
      'WATCH_NAMESPACE=hits',
      TAG,
    )
  ).trim();
  try {
    await eventually(
      'the operator to log that it started',
      async () =>
        jsonLogLines(await docker('logs', id)).some(
          (line) => line.msg === 'latency operator started',
        )
          ? true
          : undefined,
      30_000,
      200,
    );
    const get = async (path: string) =>
      (
        await docker(
          'exec',
          id,
          'node',
          '-e',
          `fetch('http://127.0.0.1:8081${path}').then(async (r) => console.log(r.status, (await r.text()).trim()))`,
        )
      ).trim();
    expect(await get('/healthz')).toBe('200 ok');
    expect(await get('/readyz')).toBe('503 the Lease not read yet');
  } finally {
    await docker('rm', '-f', id).catch(() => '');
  }
}, 180_000);

test('docker stop: SIGTERM reaches node (PID 1), which logs "stopped" last and exits 0 at once', async () => {
  await docker('build', '-q', '-t', TAG, `${KIT_ROOT}/steps/04-operator/operator`);
  // No cluster here: the operator starts, fails to watch (logged, retried) and must still stop cleanly.
  const id = (
    await docker(
      'run',
      '-d',
      '--label',
      'org.testcontainers=true',
      '-e',
      'WATCH_NAMESPACE=hits',
      TAG,
    )
  ).trim();
  try {
    // Its signal handlers are in place once it says it started: wait for that, not a guessed time.
    await eventually(
      'the operator to log that it started',
      async () =>
        jsonLogLines(await docker('logs', id)).some(
          (line) => line.msg === 'latency operator started',
        )
          ? true
          : undefined,
      30_000,
      200,
    );
    const start = Date.now();
    await docker('stop', id);
    const seconds = (Date.now() - start) / 1000;
    const messages = jsonLogLines(await docker('logs', id)).map((line) => line.msg);
    expect((await docker('inspect', '-f', '{{.State.ExitCode}}', id)).trim()).toBe('0');
    expect(messages).toContain('latency operator started');
    expect(messages.slice(-2)).toEqual(['shutting down', 'stopped']);
    expect(seconds).toBeLessThan(2);
  } finally {
    await docker('rm', '-f', id).catch(() => '');
  }
}, 180_000);
