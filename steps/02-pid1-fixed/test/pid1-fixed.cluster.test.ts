/**
 * Step 02 on a real Kubernetes cluster (beat 6, "redeploys are slow"): a rolling update under
 * steady load loses no request, and a pod goes away well inside its grace period.
 */
import {
  appPods,
  deleteNamespace,
  deployStep,
  docker,
  kubectl,
  loadIntoCluster,
  nodePortUrl,
  runK6,
  stepImage,
} from '@kit/testkit';
import { setTimeout as sleep } from 'node:timers/promises';

const NS = 'e2e-02';
let url: string;

beforeAll(async () => {
  await deleteNamespace(NS);
  await deployStep('02-pid1-fixed', NS, { ingress: false }); // the ingress test's Traefik, in the other lane, would serve it
  url = await nodePortUrl(NS);
}, 300_000);
afterAll(() => deleteNamespace(NS), 120_000);

test('a rolling update to a new image tag under steady load: zero failed requests', async () => {
  const newTag = `${stepImage('02-pid1-fixed')}-rollout`;
  await docker('tag', stepImage('02-pid1-fixed'), newTag);
  await loadIntoCluster(newTag); // as the README says: tag, load, set image
  const before = (await appPods(NS)).map((pod) => pod.name);

  const load = runK6('steady.js', { TARGET: url, ENDPOINT: '/', VUS: '4', DURATION: '40s' });
  await sleep(8000);
  await kubectl('-n', NS, 'set', 'image', 'deploy/hits', `hits=${newTag}`);
  await kubectl('-n', NS, 'rollout', 'status', 'deploy/hits', '--timeout=120s');
  const result = await load;

  const after = (await appPods(NS)).map((pod) => pod.name);
  expect(after.some((name) => before.includes(name))).toBe(false); // every pod was replaced
  expect(result.requests).toBeGreaterThan(100);
  expect(result.failedRate).toBe(0);
}, 180_000);

test('deleting a pod takes the preStop pause and a fast drain, far inside the 15 s grace period', async () => {
  const [pod] = await appPods(NS);
  const start = Date.now();
  await kubectl('-n', NS, 'delete', 'pod', pod!.name, '--wait=true', '--timeout=60s');
  const seconds = (Date.now() - start) / 1000;
  console.log(`pod deletion took ${seconds.toFixed(1)} s (preStop 3 s + drain; grace period 15 s)`);
  expect(seconds).toBeGreaterThanOrEqual(3);
  expect(seconds).toBeLessThan(8);
}, 90_000);
