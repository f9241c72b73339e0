/**
 * Step 01 on a real Kubernetes cluster (beat 6): `kubectl logs` shows the request log, and the
 * traffic that killed version 1.0.0 no longer restarts the pod.
 */
import {
  appPods,
  deleteNamespace,
  deployStep,
  hit,
  jsonLogLines,
  kubectl,
  nodePortUrl,
} from '@kit/testkit';

const NS = 'e2e-01';
let url: string;

beforeAll(async () => {
  await deleteNamespace(NS);
  await deployStep('01-logging-fixed', NS, { ingress: false }); // the ingress test's Traefik, in the other lane, would serve it
  await kubectl('-n', NS, 'set', 'env', 'deploy/hits', 'LUCKY_SEED=7'); // killed 1.0.0 at hit 128
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/hits', '--timeout=120s');
  url = await nodePortUrl(NS);
}, 300_000);
afterAll(() => deleteNamespace(NS), 120_000);

test('300 hits: all answered, no restart, and kubectl logs has a JSON line for each', async () => {
  const { statuses, failure } = await hit(`${url}/`, 300);
  expect(failure).toBeUndefined();
  expect(statuses.filter((status) => status === 200)).toHaveLength(300);

  const [pod] = await appPods(NS);
  expect(pod?.restarts).toBe(0);
  const lines = jsonLogLines<{ msg: string; req?: { url: string } }>(
    await kubectl('-n', NS, 'logs', pod!.name),
  );
  expect(
    lines.filter((line) => line.msg === 'request completed' && line.req?.url === '/').length,
  ).toBeGreaterThanOrEqual(300);
  // Hit 128, the lucky visitor that killed 1.0.0, is now a log line.
  expect(lines.some((line) => line.msg === 'lucky visitor, but no prizes to give')).toBe(true);
});
