/**
 * `./kit up STEP --cluster`: the README's main job on the kit's kind cluster, and
 * `./kit up STEP --context NAME`: the same through your kubeconfig, as the root README's kind
 * block runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  KIT_ROOT,
  Session,
  blocksFor,
  clusterEnv,
  deleteNamespace,
  deletePrometheus,
  docker,
  eventually,
  holdLock,
  kubectl,
  kubectlJson,
  runAndCheck,
} from '@kit/testkit';

const execFileAsync = promisify(execFile);

afterAll(async () => {
  await deletePrometheus();
  await deleteNamespace('hits');
}, 300_000);

test("the root README's kind block, as written: ./kit up 02 --context kind-kube-selfops of your kubeconfig, the port-forward, the page; the image under a tag unique to the build, never pulled", async () => {
  await deleteNamespace('hits');
  // An attendee's shell: the default kubeconfig, where kind wrote the context (up.sh makes sure it
  // is there); the kit's kind and kubectl only where none is installed.
  const env = {
    ...process.env,
    KUBECONFIG: '',
    PATH: `${process.env.PATH ?? ''}:${dirname(clusterEnv().kubectl)}`,
  };
  const blocks = blocksFor(readFileSync(`${KIT_ROOT}/README.md`, 'utf8'), 'cluster');
  expect(blocks.map((block) => block.code.split('\n')[0])).toEqual([
    './kit up 02 --context kind-kube-selfops   # build, load, apply k8s/hits + steps/02/deploy, wait',
    'curl -s http://127.0.0.1:8080/ | grep -E \'id="(version|redis)"\'',
  ]);
  const session = new Session(KIT_ROOT, env);
  try {
    for (const block of blocks) await runAndCheck(session, block, 'README.md'); // with its expect: version 1.2.0, Redis connected
  } finally {
    await session.end();
  }

  const deployment = await kubectlJson<{
    spec: { template: { spec: { containers: Array<{ image: string; imagePullPolicy: string }> } } };
  }>('-n', 'hits', 'get', 'deploy', 'hits');
  const [container] = deployment.spec.template.spec.containers;
  const imageId = (await docker('image', 'inspect', '-f', '{{.Id}}', 'hits:1.2.0')).trim();
  expect(container?.image).toBe(`hits:1.2.0-${imageId.replace('sha256:', '').slice(0, 12)}`);
  expect(container?.imagePullPolicy).toBe('Never');

  // k8s/hits came with it: the namespace's Pod Security levels, Redis running as uid 999.
  const namespace = await kubectlJson<{ metadata: { labels: Record<string, string> } }>(
    'get',
    'namespace',
    'hits',
  );
  expect(namespace.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('baseline');
  expect((await kubectl('-n', 'hits', 'exec', 'redis-0', '--', 'id', '-u')).trim()).toBe('999');
}, 600_000);

test('--context NAME of a cluster that is not there: one clear error, exit 1', async () => {
  const env = {
    ...process.env,
    KUBECONFIG: '/nonexistent/kubeconfig',
    PATH: `${dirname(clusterEnv().kubectl)}:${process.env.PATH}`,
  };
  const failure = await execFileAsync(`${KIT_ROOT}/kit`, ['up', '02', '--context', 'nowhere'], {
    env,
  }).then(
    () => undefined,
    (err: { code: number; stderr: string }) => err,
  );
  expect(failure?.code).toBe(1);
  expect(failure?.stderr).toMatch(/Is the cluster of context "nowhere" running\?/);
}, 120_000);

// Step 04 takes every path of `up --cluster`: the app with Redis, Prometheus (from step 03 on),
// the CRD before the operator that needs it. Step 02 takes the one without Prometheus, below.
test('up 04 --cluster right after a README clean-up: it waits for namespace hits to go; the CRD, the app with Redis, Prometheus and the operator; the addresses it prints answer at once; the operator reports', async () => {
  await deletePrometheus(); // whatever an earlier run left
  // The README's clean-up, `kubectl delete namespace hits`, and `./kit up` at once. A ConfigMap
  // with a finalizer of the test's keeps the namespace Terminating until up has said it waits
  // (a namespace alone may be gone before up, which builds and loads images first, looks).
  await kubectl('apply', '-k', `${KIT_ROOT}/k8s/hits`);
  await kubectl('-n', 'hits', 'create', 'configmap', 'held');
  await kubectl(
    '-n',
    'hits',
    'patch',
    'configmap',
    'held',
    '--type=merge',
    '-p',
    '{"metadata":{"finalizers":["kube-selfops.dev/test-hold"]}}',
  );
  const release = () =>
    kubectl(
      '-n',
      'hits',
      'patch',
      'configmap',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    );
  await kubectl('delete', 'namespace', 'hits', '--wait=false');
  // The CRD stays installed for the files of the other lane that use it (tooling/testkit/lock.ts).
  const releaseCrd = await holdLock('crd', 'shared');
  try {
    const up = execFileAsync(`${KIT_ROOT}/kit`, ['up', '04', '--cluster'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    up.catch(() => undefined); // awaited below; this keeps an early failure from going unhandled
    let said = '';
    up.child.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const waits = 'namespace hits is being deleted (a clean-up just ran): waiting until it is gone';
    await eventually(
      './kit up to say it waits for namespace hits',
      () => Promise.resolve(said.includes(waits) ? true : undefined),
      120_000,
    );
    await release();
    const { stdout } = await up;
    expect(stdout).toContain('open http://127.0.0.1:30080/');
    expect(stdout).toContain('Prometheus: http://127.0.0.1:30090/'); // printed only once it answers:
    expect((await fetch('http://127.0.0.1:30090/-/ready')).status).toBe(200);
    const page = await (await fetch('http://127.0.0.1:30080/')).text();
    expect(page).toContain('<dd id="version">1.4.0</dd>');
    expect(page).toMatch(/<dd id="hostname">hits-[a-z0-9]+-[a-z0-9]+<\/dd>/); // the pod's name
    expect(page).toContain('<dd id="redis">connected</dd>');
    expect(stdout).toContain('kubectl -n hits get latencyscalers');
    const operator = await kubectlJson<{
      spec: {
        template: { spec: { containers: Array<{ image: string; imagePullPolicy: string }> } };
      };
    }>('-n', 'hits', 'get', 'deploy', 'latency-operator');
    expect(operator.spec.template.spec.containers[0]).toMatchObject({
      image: expect.stringMatching(/^latency-operator:0\.1\.0-[0-9a-f]{12}$/),
      imagePullPolicy: 'Never',
    });
    // The operator reads its LatencyScaler and writes its status: scraped, no traffic yet, a fact.
    const reason = async () =>
      (
        await kubectlJson<{ status?: { conditions?: Array<{ type: string; reason: string }> } }>(
          '-n',
          'hits',
          'get',
          'latencyscaler',
          'hits',
        )
      ).status?.conditions?.find((c) => c.type === 'MetricAvailable')?.reason;
    await eventually(
      'the LatencyScaler to report NoTraffic',
      async () => ((await reason()) === 'NoTraffic' ? true : undefined),
      60_000,
    ).catch(() => undefined);
    expect(await reason()).toBe('NoTraffic');
  } finally {
    await release().catch(() => undefined); // gone with its namespace once released
    await deletePrometheus();
    await deleteNamespace('hits');
    await releaseCrd();
  }
}, 300_000);

test("deleteNamespace (every cluster test's fresh start) fails, saying why, when a namespace stays", async () => {
  const NS = 'kit-stuck';
  const hold = 'kube-selfops.dev/test-hold'; // a finalizer nobody removes: the namespace cannot finish
  const release = () =>
    kubectl(
      '-n',
      NS,
      'patch',
      'configmap',
      'held',
      '--type=merge',
      '-p',
      '{"metadata":{"finalizers":null}}',
    );
  // A run killed in the middle of this test leaves the namespace held; the next run releases it.
  if (await kubectl('-n', NS, 'get', 'configmap', 'held', '--ignore-not-found', '-o', 'name'))
    await release();
  await deleteNamespace(NS);
  await kubectl('create', 'namespace', NS);
  await kubectl('-n', NS, 'create', 'configmap', 'held');
  await kubectl(
    '-n',
    NS,
    'patch',
    'configmap',
    'held',
    '--type=merge',
    '-p',
    JSON.stringify({ metadata: { finalizers: [hold] } }),
  );
  try {
    // The deletion starts, and the namespace controller says why it cannot finish (a condition);
    // waited for, not guessed: a fixed 5 s was too short on a busy CI machine, 30 s too long.
    await kubectl('delete', 'namespace', NS, '--wait=false');
    await kubectl(
      'wait',
      'namespace',
      NS,
      '--for=condition=NamespaceFinalizersRemaining',
      '--timeout=60s',
    );
    const failure = deleteNamespace(NS, 5);
    await expect(failure).rejects.toThrow(`could not delete namespace ${NS}`);
    await expect(failure).rejects.toThrow(
      /checking it is gone: still there \(Terminating\).*NamespaceFinalizersRemaining: .*kube-selfops\.dev\/test-hold/,
    );
  } finally {
    await release();
  }
  await deleteNamespace(NS); // released: now it goes, and says nothing
  expect(await kubectl('get', 'namespace', NS, '--ignore-not-found')).toBe('');
}, 300_000);

test("./kit cluster up writes your kubeconfig's kind-kube-selfops entry again when it names another API server (a cluster made anew), and keeps your current context", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kit-kubeconfig-'));
  try {
    const file = join(dir, 'config');
    // Yours: a stale entry for the kit's cluster (the port of a cluster deleted since), and
    // another context in use.
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: kind-kube-selfops',
        '  cluster: { server: "https://127.0.0.1:1" }',
        '- name: other',
        '  cluster: { server: "https://127.0.0.1:2" }',
        'contexts:',
        '- name: kind-kube-selfops',
        '  context: { cluster: kind-kube-selfops, user: kind-kube-selfops }',
        '- name: other',
        '  context: { cluster: other, user: other }',
        'current-context: other',
        'users:',
        '- name: kind-kube-selfops',
        '  user: {}',
        '- name: other',
        '  user: {}',
        '',
      ].join('\n'),
    );
    const { stderr } = await execFileAsync(`${KIT_ROOT}/kit`, ['cluster', 'up'], {
      env: { ...process.env, KUBECONFIG: file },
    });
    expect(stderr).toContain(
      `your kubeconfig (${file}): context kind-kube-selfops names this cluster`,
    );
    const { kubeconfig, kubectl: kubectlBin } = clusterEnv();
    const view = async (config: string, path: string) =>
      (
        await execFileAsync(kubectlBin, [
          '--kubeconfig',
          config,
          'config',
          'view',
          '--raw',
          '-o',
          `jsonpath=${path}`,
        ])
      ).stdout;
    const server = (config: string) =>
      view(config, '{.clusters[?(@.name=="kind-kube-selfops")].cluster.server}');
    expect(await server(file)).toBe(await server(kubeconfig));
    expect(await server(file)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await server(file)).not.toBe('https://127.0.0.1:1');
    expect(await view(file, '{.current-context}')).toBe('other');
    // And with the entry right, nothing is written.
    const again = await execFileAsync(`${KIT_ROOT}/kit`, ['cluster', 'up'], {
      env: { ...process.env, KUBECONFIG: file },
    });
    expect(again.stderr).not.toContain('your kubeconfig');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("./kit cluster up leaves the kit's own kubeconfig as it is when nothing changed: a kubectl of the other lane never reads it half-written", async () => {
  // kind rewrites a kubeconfig in place; a kubectl that read it at that moment found it empty and
  // asked localhost:8080 (the operator's e2e test, while the demo in the other lane ran up.sh).
  // up.sh writes it aside and renames it into place, and only when it changed.
  const { kubeconfig } = clusterEnv();
  const before = statSync(kubeconfig);
  await execFileAsync(`${KIT_ROOT}/kit`, ['cluster', 'up']);
  const after = statSync(kubeconfig);
  expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({
    ino: before.ino,
    mtimeMs: before.mtimeMs,
  });
  expect(readdirSync(dirname(kubeconfig)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
});
