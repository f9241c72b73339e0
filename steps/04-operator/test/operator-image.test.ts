/**
 * The operator's image, built from operator/ with `docker build` as an attendee does: it runs
 * as the unprivileged `node` user, and a bad setting stops it at once with a message naming it.
 * (What it does on a cluster is proven by operator.cluster.test.ts.)
 */
import { docker, dockerRunToExit, jsonLogLines, KIT_ROOT } from '@kit/testkit';

const TAG = 'kube-selfops/04-operator-operator:test';

test('builds, runs as node, and fails fast on a bad WATCH_NAMESPACE', async () => {
  await docker('build', '-q', '-t', TAG, `${KIT_ROOT}/steps/04-operator/operator`);
  expect((await docker('image', 'inspect', '-f', '{{.Config.User}} {{json .Config.Entrypoint}}', TAG)).trim()).toBe('node ["node","dist/main.js"]');
  const { exitCode, output } = await dockerRunToExit(TAG, { WATCH_NAMESPACE: 'Not_A_Namespace' });
  const [line] = jsonLogLines<{ level: string; msg: string; err: { message: string } }>(output);
  expect(exitCode).toBe(1);
  expect(line).toMatchObject({ level: 'fatal', msg: 'invalid configuration' });
  expect(line?.err.message).toBe('WATCH_NAMESPACE=Not_A_Namespace is not valid: expected a namespace name, e.g. hits');
}, 180_000);
