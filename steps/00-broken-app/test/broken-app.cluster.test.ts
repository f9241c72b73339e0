/**
 * Step 00 on a real Kubernetes cluster (the talk's beats 4-5): the pod keeps restarting under
 * traffic, and `kubectl logs` has nothing to say about why.
 */
import {
  appPods,
  deleteNamespace,
  deployStep,
  eventually,
  hit,
  kubectl,
  nodePortUrl,
} from '@kit/testkit';

const NS = 'e2e-00';
let url: string;

beforeAll(async () => {
  await deleteNamespace(NS); // left over from an interrupted run
  await deployStep('00-broken-app', NS, { ingress: false }); // the ingress test's Traefik, in the other lane, would serve it
  // The seed whose first lucky visitor arrives at hit 128 (see broken-app.test.ts).
  await kubectl('-n', NS, 'set', 'env', 'deploy/hits', 'LUCKY_SEED=7');
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/hits', '--timeout=120s');
  url = await nodePortUrl(NS);
}, 300_000);
afterAll(() => deleteNamespace(NS), 120_000);

test('under traffic the pod crashes, and Kubernetes restarts it', async () => {
  expect((await appPods(NS)).map((pod) => pod.restarts)).toEqual([0]);
  await hit(`${url}/`, 200); // dies at hit 128
  const restarts = await eventually('a restart', async () => {
    const [pod] = await appPods(NS);
    return pod && pod.restarts >= 1 ? pod.restarts : undefined;
  });
  expect(restarts).toBeGreaterThanOrEqual(1);
});

test('kubectl logs shows nothing useful, neither now nor from the crashed container', async () => {
  const [pod] = await appPods(NS);
  expect((await kubectl('-n', NS, 'logs', pod!.name)).trim()).toBe('starting hits...');
  expect((await kubectl('-n', NS, 'logs', pod!.name, '--previous')).trim()).toBe(
    'starting hits...',
  );
});
