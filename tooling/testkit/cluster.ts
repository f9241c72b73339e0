/**
 * Helpers for the end-to-end tests on a real Kubernetes cluster: the kit's local one
 * (tooling/cluster/up.sh) or your own (KUBECONFIG). The step images are built from the step
 * folders with `docker build`, never pulled. Traffic from the host reaches the app only through
 * 127.0.0.1: a NodePort (the local cluster's kube-proxy serves NodePorts on loopback only).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { KIT_ROOT, buildStep, docker } from './docker.js';
import { answers, eventually } from './eventually.js';

const execFileAsync = promisify(execFile);

/** KUBECONFIG and kubectl of the kit's local cluster, as tooling/cluster/env.sh prints them. */
export function clusterEnv(): { kubeconfig: string; kubectl: string } {
  const lines = execFileSync('bash', [`${KIT_ROOT}/tooling/cluster/env.sh`]).toString();
  const kubeconfig = /export KUBECONFIG='([^']+)'/.exec(lines)?.[1];
  const bin = /export PATH='([^']+)'/.exec(lines)?.[1];
  if (!kubeconfig || !bin) throw new Error(`tooling/cluster/env.sh printed no KUBECONFIG/PATH:\n${lines}`);
  return { kubeconfig, kubectl: `${bin}/kubectl` };
}

let env: { kubeconfig: string; kubectl: string } | undefined;

/** Runs kubectl against the cluster under test, with INPUT on its stdin if given; returns its stdout. */
async function runKubectl(args: string[], input?: string): Promise<string> {
  const { kubectl: bin, kubeconfig } = (env ??= clusterEnv());
  const run = execFileAsync(bin, ['--kubeconfig', kubeconfig, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) run.child.stdin?.end(input);
  const { stdout } = await run;
  return stdout;
}

/** Runs kubectl against the cluster under test and returns its stdout. */
export async function kubectl(...args: string[]): Promise<string> {
  return runKubectl(args);
}

/** kubectl ... -o json, parsed. */
export async function kubectlJson<T>(...args: string[]): Promise<T> {
  return JSON.parse(await kubectl(...args, '-o', 'json')) as T;
}

/** The image a step's manifest deploys (`image: hits:X.Y.Z`, the step's package.json version). */
export function manifestImage(step: string): string {
  const manifest = readFileSync(`${KIT_ROOT}/steps/${step}/deploy/app.yaml`, 'utf8');
  const image = /^\s+image: (hits:\S+)$/m.exec(manifest)?.[1];
  if (!image) throw new Error(`steps/${step}/deploy/app.yaml names no hits image`);
  return image;
}

/**
 * Builds the step's image and gives it the name its manifest uses. The local cluster's runtime
 * (cri-dockerd) uses Docker's own images, so nothing needs loading or pulling.
 */
export async function stepImageOnCluster(step: string): Promise<string> {
  const image = manifestImage(step);
  await docker('tag', await buildStep(step), image);
  return image;
}

/** Creates NAMESPACE with the labels (Pod Security levels) of k8s/hits/namespace.yaml. */
export async function createNamespaceLike(namespace: string): Promise<void> {
  const manifest = await kubectlJson<{ metadata: { name: string } }>('create', '--dry-run=client', '-f', `${KIT_ROOT}/k8s/hits/namespace.yaml`);
  manifest.metadata.name = namespace;
  await kubectlStdin(JSON.stringify(manifest), 'create', '-f', '-');
}

/** Runs kubectl with INPUT on its stdin (a manifest for `-f -`). */
export async function kubectlStdin(input: string, ...args: string[]): Promise<string> {
  return runKubectl(args, input);
}

/** `kubectl auth can-i` as SERVICEACCOUNT (system:serviceaccount:NS:NAME): "yes" or "no" (it exits 1 on "no"). */
export async function canI(serviceAccount: string, ...args: string[]): Promise<string> {
  const out = await kubectl('auth', 'can-i', `--as=${serviceAccount}`, ...args).catch((err: { stdout?: string }) => err.stdout ?? '');
  return out.trim();
}

/**
 * A fresh namespace (Pod Security labels of k8s/hits) with Redis and the step's manifests, rolled
 * out. `ingress: false` leaves out the step's Ingress: Traefik, while the ingress test runs, serves
 * every Ingress of the cluster, so a file that runs beside that test (the own lane,
 * jest.config.js) must not add one.
 */
export async function deployStep(step: string, namespace: string, { ingress = true } = {}): Promise<void> {
  await stepImageOnCluster(step);
  await createNamespaceLike(namespace);
  await kubectl('-n', namespace, 'apply', '-f', `${KIT_ROOT}/k8s/hits/redis.yaml`);
  if (ingress) {
    await kubectl('-n', namespace, 'apply', '-f', `${KIT_ROOT}/steps/${step}/deploy`);
  } else {
    const dir = `${KIT_ROOT}/steps/${step}/deploy`;
    const docs = readdirSync(dir).filter((file) => file.endsWith('.yaml')).flatMap((file) => readFileSync(`${dir}/${file}`, 'utf8').split(/^---$/m));
    const kept = docs.filter((doc) => !/^kind: Ingress$/m.test(doc));
    if (kept.length !== docs.length - 1) throw new Error(`steps/${step}/deploy: expected one Ingress to leave out, found ${docs.length - kept.length}`);
    await kubectlStdin(kept.join('\n---\n'), '-n', namespace, 'apply', '-f', '-');
  }
  await rolledOut(namespace, 'statefulset/redis');
  await rolledOut(namespace, 'deploy/hits');
}

/** kubectl rollout status; on a timeout the error carries what a person would look at next. */
export async function rolledOut(namespace: string, workload: string, timeout = '120s'): Promise<void> {
  try {
    await kubectl('-n', namespace, 'rollout', 'status', workload, `--timeout=${timeout}`);
  } catch (err) {
    const look = async (...args: string[]) => `$ kubectl ${args.join(' ')}\n${await kubectl(...args).catch((e: Error) => e.message)}`;
    const details = await Promise.all([
      look('-n', namespace, 'get', 'pods,pvc', '-o', 'wide'),
      look('get', 'pv'),
      look('-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp'),
    ]);
    throw new Error(`${workload} in ${namespace} did not roll out: ${(err as Error).message}\n${details.join('\n')}`);
  }
}

/** The NodePorts of k8s/local, which `./kit up --cluster` and the ingress test ask for by number. */
const FIXED_NODE_PORTS = readdirSync(`${KIT_ROOT}/k8s/local`)
  .flatMap((file) => [...readFileSync(`${KIT_ROOT}/k8s/local/${file}`, 'utf8').matchAll(/^\s+nodePort: (\d+)$/gm)].map((m) => Number(m[1])));

/**
 * `kubectl expose WORKLOAD --type=NodePort` with the API server's choice of port, which is never
 * one of the kit's fixed ones: taken here, it would make `./kit up --cluster` in the other lane
 * fail. (The API server draws from the top of the range first, where 30090 is.) Returns the port.
 */
async function exposeNodePort(namespace: string, workload: string, name: string, ...ports: string[]): Promise<number> {
  for (;;) {
    await kubectl('-n', namespace, 'expose', workload, `--name=${name}`, '--type=NodePort', ...ports);
    const service = await kubectlJson<{ spec: { ports: Array<{ nodePort?: number }> } }>('-n', namespace, 'get', 'service', name);
    const port = service.spec.ports[0]?.nodePort;
    if (!port) throw new Error(`no nodePort on service ${name} in ${namespace}`);
    if (!FIXED_NODE_PORTS.includes(port)) return port;
    await kubectl('-n', namespace, 'delete', 'service', name);
  }
}

/** Exposes the app on a NodePort (served on 127.0.0.1) and returns its base URL. */
export async function nodePortUrl(namespace: string): Promise<string> {
  const url = `http://127.0.0.1:${await exposeNodePort(namespace, 'deploy/hits', 'hits-nodeport', '--port=80', '--target-port=http')}`;
  // kube-proxy programs the rule a moment after the Service exists. (/status counts no hit; it
  // is a 404 in step 00, and any answer will do.)
  await answers(`${url}/status`);
  return url;
}

export interface PodSummary {
  name: string;
  restarts: number;
  ready: boolean;
  phase: string;
}

/** The app's pods, with restart counts. */
export async function appPods(namespace: string): Promise<PodSummary[]> {
  const pods = await kubectlJson<{
    items: Array<{
      metadata: { name: string; deletionTimestamp?: string };
      status: { phase: string; containerStatuses?: Array<{ restartCount: number; ready: boolean }> };
    }>;
  }>('-n', namespace, 'get', 'pods', '-l', 'app.kubernetes.io/name=hits');
  return pods.items
    .filter((pod) => !pod.metadata.deletionTimestamp)
    .map((pod) => ({
      name: pod.metadata.name,
      phase: pod.status.phase,
      restarts: pod.status.containerStatuses?.[0]?.restartCount ?? 0,
      ready: pod.status.containerStatuses?.[0]?.ready ?? false,
    }));
}

/**
 * Deletes the namespace and waits until it is gone; then makes its volumes available again
 * (local cluster). It is every cluster test's fresh start, so what it could not delete is an
 * error, with the details a person would look at: a stuck namespace, a volume still bound.
 */
export async function deleteNamespace(namespace: string, timeoutSeconds = 120): Promise<void> {
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>, into = problems) => {
    await work().catch((err: Error & { stderr?: string }) => into.push(`${what}: ${(err.stderr || err.message).trim()}`));
  };
  // Workloads first, so their pods' graceful stops run while the namespace still exists. A
  // time-out here matters only if the outcome checked below is wrong; then it is part of the story.
  const notes: string[] = [];
  await attempt('deleting its workloads', () => kubectl('-n', namespace, 'delete', 'deployment,statefulset,pod', '--all', '--wait=true', '--timeout=90s'), notes);
  await attempt('deleting the namespace', () => kubectl('delete', 'namespace', namespace, '--ignore-not-found', '--wait=true', `--timeout=${timeoutSeconds}s`), notes);
  await attempt('checking it is gone', async () => {
    const left = await kubectl('get', 'namespace', namespace, '--ignore-not-found', '-o', 'json');
    if (!left.trim()) return;
    const { status } = JSON.parse(left) as { status?: { phase?: string; conditions?: Array<{ type: string; status: string; message?: string }> } };
    const why = (status?.conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}: ${c.message ?? ''}`);
    throw new Error(`still there (${status?.phase ?? 'unknown phase'}) ${why.join('; ')}`);
  });
  // The PV controller marks a volume Released a moment after its claim is gone. Recycling before
  // that misses it, and a few such volumes left the next test's claim with none to bind.
  const stillBound = async () => {
    const volumes = await kubectlJson<{ items: Array<{ metadata: { name: string }; spec: { claimRef?: { namespace?: string; name?: string } }; status: { phase?: string } }> }>('get', 'pv');
    return volumes.items
      .filter((pv) => pv.spec.claimRef?.namespace === namespace && pv.status.phase === 'Bound')
      .map((pv) => `${pv.metadata.name} (claim ${pv.spec.claimRef?.name})`);
  };
  let bound: string[] = [];
  await attempt('releasing its volumes', () =>
    eventually(`the volumes of ${namespace} to be released`, async () => ((bound = await stillBound()).length === 0 ? true : undefined), 60_000)
      .catch((err: Error) => { throw new Error(`${err.message}; still Bound: ${bound.join(', ')}`); }));
  await attempt('recycling the released volumes (tooling/cluster/recycle-pvs.sh)', () => execFileAsync('bash', [`${KIT_ROOT}/tooling/cluster/recycle-pvs.sh`]));
  if (problems.length > 0) throw new Error(`could not delete namespace ${namespace}:\n  ${[...notes, ...problems].join('\n  ')}`);
}

/**
 * Removes the kustomization k8s/PIECE (which creates NAMESPACE) and waits until the namespace is
 * gone: applying it again while the namespace is still terminating would be refused. What it
 * could not remove is an error.
 */
export async function deleteK8sPiece(piece: string, namespace: string): Promise<void> {
  await kubectl('delete', '-k', `${KIT_ROOT}/k8s/${piece}`, '--ignore-not-found', '--wait=true', '--timeout=120s');
  const left = await kubectl('get', 'namespace', namespace, '--ignore-not-found', '-o', 'jsonpath={.status.phase}');
  if (left) throw new Error(`kubectl delete -k k8s/${piece}: namespace ${namespace} is still there (${left})`);
}

/** Removes k8s/prometheus and its namespace `monitoring`, and waits until they are gone. */
export async function deletePrometheus(): Promise<void> {
  await deleteK8sPiece('prometheus', 'monitoring');
}

/** Where movedTo puts what k8s/prometheus puts in `monitoring`, for the app of NAMESPACE. */
export const monitoringOf = (namespace: string): string => `${namespace}-monitoring`;

/**
 * The kit's manifests moved out of the namespaces `hits` and `monitoring` into NAMESPACE and
 * `NAMESPACE-monitoring`: only the namespaces and the addresses and labels made of them change.
 * A test file that deploys there runs beside the files that use hits and monitoring (the second
 * lane of the cluster suite, jest.config.js), on the manifests an attendee applies.
 */
export function movedTo(manifests: string, namespace: string): string {
  const monitoring = monitoringOf(namespace);
  const moved = { hits: namespace, monitoring } as Record<string, string>;
  return manifests.split(/^---$/m).map((doc) => {
    const out = doc
      .replace(/^(\s+namespace: )(hits|monitoring)$/gm, (_, key: string, name: string) => key + moved[name])
      .replaceAll('hits-metrics.hits.svc', `hits-metrics.${namespace}.svc`)
      .replaceAll('prometheus.monitoring.svc', `prometheus.${monitoring}.svc`)
      .replace(/(target_label: namespace\s+replacement: )hits$/gm, `$1${namespace}`); // the series' namespace label
    return /^kind: Namespace$/m.test(out) ? out.replace(/^( {2}name: )(hits|monitoring)$/m, (_, key: string, name: string) => key + moved[name]) : out;
  }).join('---');
}

/**
 * k8s/prometheus moved to `NAMESPACE-monitoring` and scraping the app of NAMESPACE (movedTo),
 * rolled out and on a NodePort; returns its URL once it answers.
 */
export async function deployPrometheusFor(namespace: string): Promise<string> {
  const monitoring = monitoringOf(namespace);
  await kubectlStdin(movedTo(await kubectl('kustomize', `${KIT_ROOT}/k8s/prometheus`), namespace), 'apply', '-f', '-');
  await rolledOut(monitoring, 'deploy/prometheus');
  const url = `http://127.0.0.1:${await exposeNodePort(monitoring, 'deploy/prometheus', 'prometheus-nodeport', '--port=9090')}`;
  await answers(`${url}/-/ready`);
  return url;
}
