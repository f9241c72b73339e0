/**
 * k8s/ingress on a real cluster: Traefik, behind the default IngressClass, serves a step's own
 * Ingress `hits` (which names no class) on 127.0.0.1:30081 (k8s/local/ingress-nodeport.yaml), and
 * its ServiceAccount may do what the kubernetesingress provider needs and nothing more.
 */
import { readFileSync } from 'node:fs';
import {
  KIT_ROOT,
  appPods,
  canI,
  deleteK8sPiece,
  deleteNamespace,
  deployStep,
  eventually,
  kubectl,
  kubectlJson,
} from '@kit/testkit';

const NS = 'e2e-ingress';
const URL = 'http://127.0.0.1:30081';
const SA = 'system:serviceaccount:ingress:traefik';

/** Removes k8s/ingress (namespace, IngressClass, RBAC) and waits until namespace `ingress` is gone. */
const deleteIngressController = () => deleteK8sPiece('ingress', 'ingress');

interface Page {
  status: number;
  hits?: number;
  hostname?: string;
}

async function get(path: string): Promise<Page> {
  const response = await fetch(`${URL}${path}`);
  const body = await response.text();
  const hits = /<dd id="hits">(\d+)<\/dd>/.exec(body)?.[1];
  const hostname = /<dd id="hostname">([^<]+)<\/dd>/.exec(body)?.[1];
  return { status: response.status, hits: hits === undefined ? undefined : Number(hits), hostname };
}

/** GET / until `done` holds (Traefik applies a changed Ingress within a few seconds). */
async function until(done: (page: Page) => boolean, what: string): Promise<Page> {
  let last: Page | string = 'no answer';
  return eventually(
    `${URL}/ to ${what}`,
    async () => {
      last = await get('/').catch((error: unknown) => String(error));
      return typeof last !== 'string' && done(last) ? last : undefined;
    },
    30_000,
    200,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last: ${JSON.stringify(last)}`);
  });
}

const myPods = async (): Promise<string[]> => (await appPods(NS)).map((pod) => pod.name);

beforeAll(async () => {
  await deleteNamespace(NS); // whatever an earlier run left
  await deleteIngressController();
  // The controller and its default class first: the API server gives an Ingress the default
  // class when the Ingress is created.
  await kubectl('apply', '-k', `${KIT_ROOT}/k8s/ingress`);
  await kubectl('apply', '-f', `${KIT_ROOT}/k8s/local/ingress-nodeport.yaml`);
  await kubectl('-n', 'ingress', 'rollout', 'status', 'deploy/traefik', '--timeout=120s');
  await deployStep('02-pid1-fixed', NS);
}, 300_000);

afterAll(async () => {
  await deleteNamespace(NS);
  await deleteIngressController();
}, 300_000);

test('runs the pinned image of tooling/install/images/traefik', async () => {
  const deployment = await kubectlJson<{
    spec: { template: { spec: { containers: Array<{ image: string }> } } };
  }>('-n', 'ingress', 'get', 'deploy/traefik');
  const pinned = readFileSync(`${KIT_ROOT}/tooling/install/images/traefik/IMAGE`, 'utf8').trim();
  expect(deployment.spec.template.spec.containers[0]?.image).toBe(pinned);
});

test("the step's Ingress gets the default class and Traefik routes / to the app", async () => {
  const ingress = await kubectlJson<{ spec: { ingressClassName?: string } }>(
    '-n',
    NS,
    'get',
    'ingress',
    'hits',
  );
  expect(ingress.spec.ingressClassName).toBe('traefik'); // written by the API server, not the manifest

  const pods = await myPods();
  const first = await until(
    (page) => page.status === 200 && pods.includes(page.hostname ?? ''),
    `serve a pod of ${NS}`,
  );
  const second = await get('/');
  expect(pods).toContain(second.hostname);
  expect(second.hits).toBe((first.hits ?? NaN) + 1); // the same app and its Redis, through Traefik
});

test('without the Ingress, Traefik no longer routes to the app', async () => {
  await kubectl('-n', NS, 'delete', 'ingress', 'hits');
  const pods = await myPods();
  const page = await until(
    (p) => !pods.includes(p.hostname ?? ''),
    `stop serving the pods of ${NS}`,
  );
  // Traefik also serves Ingresses without a class (made before k8s/ingress was applied), so on a
  // shared cluster another namespace's app may answer /. With no Ingress left, nothing does.
  const others = await kubectlJson<{ items: unknown[] }>('get', 'ingress', '--all-namespaces');
  if (others.items.length === 0) expect(page.status).toBe(404); // Traefik's answer when no router matches
});

test("Traefik's ServiceAccount may read what the provider watches and write only Ingress status", async () => {
  for (const resource of [
    'services',
    'secrets',
    'nodes',
    'endpointslices.discovery.k8s.io',
    'ingresses.networking.k8s.io',
    'ingressclasses.networking.k8s.io',
  ]) {
    for (const verb of ['list', 'watch'])
      expect(`${verb} ${resource}: ${await canI(SA, verb, resource, '-A')}`).toBe(
        `${verb} ${resource}: yes`,
      );
  }
  expect(
    await canI(SA, 'update', 'ingresses.networking.k8s.io', '--subresource=status', '-A'),
  ).toBe('yes');

  const denied = [
    ['delete', 'pods'],
    ['get', 'pods'],
    ['create', 'pods'],
    ['create', 'pods', '--subresource=exec'],
    ['get', 'secrets'],
    ['create', 'secrets'],
    ['update', 'secrets'],
    ['get', 'configmaps'],
    ['update', 'ingresses.networking.k8s.io'],
    ['delete', 'ingresses.networking.k8s.io'],
    ['update', 'services'],
    ['create', 'deployments.apps'],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['impersonate', 'serviceaccounts'],
    ['*', '*'],
  ];
  for (const args of denied)
    expect(`${args.join(' ')}: ${await canI(SA, ...args, '-A')}`).toBe(`${args.join(' ')}: no`);

  // No wildcard anywhere in the ClusterRole, and the provider never hit a permission it lacks.
  const role = await kubectlJson<{
    rules: Array<{ apiGroups?: string[]; resources?: string[]; verbs: string[] }>;
  }>('get', 'clusterrole', 'ingress-traefik');
  expect(
    role.rules.flatMap((rule) => [
      ...(rule.apiGroups ?? []),
      ...(rule.resources ?? []),
      ...rule.verbs,
    ]),
  ).not.toContain('*');
  const logs = await kubectl('-n', 'ingress', 'logs', 'deploy/traefik');
  expect(logs).not.toMatch(/forbidden/i);
}, 120_000);
