/**
 * k8s/dashboard is valid for the cluster's Kubernetes: the API server accepts every object of
 * `kubectl apply -k k8s/dashboard` in a server-side dry run (schema, strict field names,
 * defaulting, admission), and Grafana's pod meets the `restricted` Pod Security level. Grafana is
 * not started: the kit's cluster has no registry to pull grafana/grafana from. Nothing is left behind.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KIT_ROOT, kubectl, kubectlJson } from '@kit/testkit';

const DIR = `${KIT_ROOT}/k8s/dashboard`;
const MONITORING = 'monitoring';
const psaNamespace = `dashboard-psa-${randomBytes(3).toString('hex')}`;

interface Obj {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: Record<string, unknown>;
}
interface Container {
  image: string;
  env: Array<{ name: string; value?: string; valueFrom?: object }>;
  securityContext: Record<string, unknown>;
  readinessProbe: { httpGet: { path: string } };
  livenessProbe: { httpGet: { path: string } };
  resources: { requests?: Record<string, string> };
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: Array<{ name: string; emptyDir?: object; configMap?: { name: string } }>;
}

let tmp: string;
let createdMonitoring = false;
let objects: Obj[];

/** Runs kubectl and returns its error output when it fails, or undefined when it succeeds. */
const refusal = (...args: string[]) =>
  kubectl(...args).then(
    () => undefined,
    (err: Error & { stderr?: string }) => err.stderr ?? String(err),
  );

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'kit-dashboard-'));
  // The dry run needs namespace `monitoring` (k8s/prometheus owns it; another test may be using
  // it). Wait out a deletion in progress, then create it only if it is missing.
  const existing = await kubectl(
    'get',
    'namespace',
    MONITORING,
    '--ignore-not-found',
    '-o',
    'jsonpath={.status.phase}',
  );
  if (existing === 'Terminating')
    await kubectl('wait', '--for=delete', `namespace/${MONITORING}`, '--timeout=120s');
  if (existing === '' || existing === 'Terminating') {
    await kubectl('create', 'namespace', MONITORING);
    createdMonitoring = true;
  }
  const list = await kubectlJson<{ items: Obj[] }>('apply', '--dry-run=server', '-k', DIR);
  objects = list.items;
}, 180_000);

afterAll(async () => {
  await kubectl('delete', 'namespace', psaNamespace, '--ignore-not-found', '--timeout=90s').catch(
    () => '',
  );
  await rm(tmp, { recursive: true, force: true });
  if (!createdMonitoring) return;
  // Remove the namespace only as we made it: empty. If something moved in meanwhile (another test
  // applied k8s/prometheus), it is theirs now.
  const inside = (
    await kubectl('-n', MONITORING, 'get', 'all,configmaps,secrets,serviceaccounts', '-o', 'name')
  )
    .split('\n')
    .filter(
      (name) => name && name !== 'configmap/kube-root-ca.crt' && name !== 'serviceaccount/default',
    );
  // Waits until it is gone: applying k8s/prometheus into a terminating namespace is refused.
  if (inside.length === 0) await kubectl('delete', 'namespace', MONITORING, '--timeout=90s');
  else console.log(`namespace ${MONITORING} left in place: ${inside.join(', ')}`);
}, 120_000);

const one = (kind: string, name: string) => {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.startsWith(name));
  expect(found).toHaveLength(1);
  return found[0]!;
};

test('the API server accepts every object of `kubectl apply -k k8s/dashboard` (server-side dry run), all in monitoring', () => {
  expect(objects.map((o) => o.kind).sort()).toEqual([
    'ConfigMap',
    'ConfigMap',
    'Deployment',
    'Service',
    'ServiceAccount',
  ]);
  expect(objects.filter((o) => o.metadata.namespace !== MONITORING)).toEqual([]);
  // The ConfigMap is generated from hits.json as it is in git, under a content-hash name.
  const dashboards = one('ConfigMap', 'grafana-dashboards-');
  expect(dashboards.data?.['hits.json']).toBe(readFileSync(`${DIR}/hits.json`, 'utf8'));
  const provisioning = one('ConfigMap', 'grafana-provisioning-');
  expect(Object.keys(provisioning.data ?? {}).sort()).toEqual([
    'dashboards.yaml',
    'datasources.yaml',
  ]);
});

test('Grafana: anonymous Viewers, no login of any kind, no password or Secret anywhere', () => {
  const [grafana] = (one('Deployment', 'grafana').spec as { template: { spec: PodSpec } }).template
    .spec.containers;
  const env = Object.fromEntries((grafana?.env ?? []).map((e) => [e.name, e.value]));
  expect(env).toMatchObject({
    GF_AUTH_ANONYMOUS_ENABLED: 'true',
    GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
    GF_AUTH_DISABLE_LOGIN: 'true', // no password client at all: the image's admin/admin cannot log in
    GF_AUTH_DISABLE_LOGIN_FORM: 'true',
    GF_AUTH_BASIC_ENABLED: 'false',
  });
  expect(
    (grafana?.env ?? []).filter((e) => e.valueFrom || /PASSWORD|SECRET|TOKEN/.test(e.name)),
  ).toEqual([]);
  expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]);
});

test('Grafana: pinned 12.x, non-root, read-only root filesystem with emptyDirs, no capabilities, probes, requests', () => {
  const spec = (one('Deployment', 'grafana').spec as { template: { spec: PodSpec } }).template.spec;
  const [grafana] = spec.containers;
  expect(grafana?.image).toMatch(/^grafana\/grafana:12\.\d+\.\d+$/);
  expect(spec.securityContext).toMatchObject({
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  });
  expect(grafana?.securityContext).toEqual({
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  });
  expect(grafana?.readinessProbe.httpGet.path).toBe('/api/health');
  expect(grafana?.livenessProbe.httpGet.path).toBe('/api/health');
  expect(Object.keys(grafana?.resources.requests ?? {}).sort()).toEqual(['cpu', 'memory']);
  const volume = (mountPath: string) =>
    spec.volumes.find(
      (v) => v.name === grafana?.volumeMounts.find((m) => m.mountPath === mountPath)?.name,
    );
  expect(volume('/var/lib/grafana')?.emptyDir).toBeDefined();
  expect(volume('/tmp')?.emptyDir).toBeDefined();
  // Every ConfigMap it mounts is one of the generated ones (kustomize rewrote the hashed names).
  const generated = objects.filter((o) => o.kind === 'ConfigMap').map((o) => o.metadata.name);
  const mounted = spec.volumes.flatMap((v) => (v.configMap ? [v.configMap.name] : []));
  expect(mounted.length).toBeGreaterThanOrEqual(3);
  expect(mounted.filter((name) => !generated.includes(name))).toEqual([]);
});

test('the Service is ClusterIP on 3000, and the datasource is the Service k8s/prometheus creates', async () => {
  const service = one('Service', 'grafana').spec as {
    type: string;
    ports: Array<{ port: number }>;
  };
  expect(service.type).toBe('ClusterIP'); // the server's default, as applied: no NodePort, no LoadBalancer
  expect(service.ports.map((p) => p.port)).toEqual([3000]);
  const datasources = one('ConfigMap', 'grafana-provisioning-').data?.['datasources.yaml'] ?? '';
  const [, name, namespace, port] =
    /url: http:\/\/([\w-]+)\.([\w-]+)\.svc:(\d+)\n/.exec(datasources) ?? [];
  const prometheus = (await kubectl('kustomize', `${KIT_ROOT}/k8s/prometheus`))
    .split('\n---\n')
    .find((doc) => /^kind: Service$/m.test(doc));
  expect(prometheus).toMatch(new RegExp(`^  name: ${name}\\n  namespace: ${namespace}$`, 'm'));
  expect(prometheus).toMatch(new RegExp(`^  - name: http\\n    port: ${port}$`, 'm'));
});

test('the dry run is strict: a misspelt field is refused (so the pass above means something)', async () => {
  const rendered = await kubectl('kustomize', DIR);
  expect(rendered).toContain('readinessProbe:');
  const broken = join(tmp, 'broken.yaml');
  await writeFile(broken, rendered.replace('readinessProbe:', 'readinessProbes:'));
  expect(await refusal('apply', '--dry-run=server', '-f', broken)).toMatch(
    /unknown field.*readinessProbes/,
  );
});

test('Grafana\'s pod meets Pod Security "restricted" (and a root-allowing copy does not)', async () => {
  await writeFile(
    join(tmp, 'ns.json'),
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: psaNamespace,
        labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
      },
    }),
  );
  await kubectl('create', '-f', join(tmp, 'ns.json'));
  await kubectl('-n', psaNamespace, 'create', 'serviceaccount', 'grafana'); // pods must name an existing one
  const spec = (one('Deployment', 'grafana').spec as { template: { spec: PodSpec } }).template.spec;
  const pod = (podSpec: PodSpec) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'grafana', namespace: psaNamespace },
    spec: podSpec,
  });
  await writeFile(join(tmp, 'pod.json'), JSON.stringify(pod(spec)));
  expect(await refusal('create', '--dry-run=server', '-f', join(tmp, 'pod.json'))).toBeUndefined();
  const loose = structuredClone(spec);
  loose.securityContext = { ...loose.securityContext, runAsNonRoot: false };
  await writeFile(join(tmp, 'loose.json'), JSON.stringify(pod(loose)));
  expect(await refusal('create', '--dry-run=server', '-f', join(tmp, 'loose.json'))).toMatch(
    /violates PodSecurity "restricted/,
  );
}, 120_000);
