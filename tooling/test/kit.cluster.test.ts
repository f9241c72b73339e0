/** `./kit up STEP --cluster`: the README's main job on the kit's local Kubernetes cluster. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { KIT_ROOT, deleteNamespace, deletePrometheus } from '@kit/testkit';

const execFileAsync = promisify(execFile);

afterAll(async () => {
  await deletePrometheus();
  await deleteNamespace('hits');
}, 300_000);

test('deploys the step with Redis (and Prometheus from step 03 on) and serves it on 127.0.0.1:30080', async () => {
  await deletePrometheus(); // whatever an earlier run left
  await deleteNamespace('hits');
  const { stdout } = await execFileAsync(`${KIT_ROOT}/kit`, ['up', '03', '--cluster'], { maxBuffer: 16 * 1024 * 1024 });
  expect(stdout).toContain('open http://127.0.0.1:30080/');
  const page = await (await fetch('http://127.0.0.1:30080/')).text();
  expect(page).toContain('<dd id="version">1.3.0</dd>');
  expect(page).toMatch(/<dd id="hostname">hits-[a-z0-9]+-[a-z0-9]+<\/dd>/); // the pod's name
  expect(page).toContain('<dd id="redis">connected</dd>');
  expect((await fetch('http://127.0.0.1:30090/-/ready')).status).toBe(200);
}, 300_000);
