/**
 * Helpers for the end-to-end tests on a real Kubernetes cluster: the kit's kind cluster
 * (tooling/cluster/up.sh). The step images are built from the step folders with `docker build`
 * and loaded with `kind load docker-image`, never pulled. Traffic from the host reaches the app
 * only through 127.0.0.1: kind publishes the kit's NodePorts there (tooling/cluster/kind.yaml),
 * and any other NodePort is reached through the node (nodePortUrl).
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { KIT_ROOT, buildStep, docker } from './docker.js';
import { answers, eventually } from '../lib/eventually.js';
import { stepImage } from '../lib/manifests.js';

const execFileAsync = promisify(execFile);

/** KUBECONFIG and kubectl of the kit's cluster, as tooling/cluster/env.sh prints them. */
export function clusterEnv(): { kubeconfig: string; kubectl: string; kindCluster: string } {
  const lines = execFileSync('bash', [`${KIT_ROOT}/tooling/cluster/env.sh`]).toString();
  const kubeconfig = /export KUBECONFIG='([^']+)'/.exec(lines)?.[1];
  const bin = /export PATH='([^']+)'/.exec(lines)?.[1];
  const kindCluster = /export KIND_CLUSTER_NAME='([^']+)'/.exec(lines)?.[1];
  if (!kubeconfig || !bin || !kindCluster)
    throw new Error(
      `tooling/cluster/env.sh printed no KUBECONFIG/PATH/KIND_CLUSTER_NAME:\n${lines}`,
    );
  return { kubeconfig, kubectl: `${bin}/kubectl`, kindCluster };
}

let env: { kubeconfig: string; kubectl: string } | undefined;

/** Runs kubectl against the cluster under test, with INPUT on its stdin if given; returns its stdout. */
async function runKubectl(args: string[], input?: string): Promise<string> {
  const { kubectl: bin, kubeconfig } = (env ??= clusterEnv());
  const run = execFileAsync(bin, ['--kubeconfig', kubeconfig, ...args], {
    maxBuffer: 64 * 1024 * 1024,
  });
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

/** The image a step's manifest deploys, and the operator's (tooling/lib/manifests.ts). */
export { operatorImage, stepImage } from '../lib/manifests.js';

/**
 * Loads IMAGES (names, or folders of tooling/install/images) from this machine's Docker into the kit's
 * cluster, as an attendee does with kind: it has no registry to pull from (tooling/cluster/load.sh).
 */
export async function loadIntoCluster(...images: string[]): Promise<void> {
  await execFileAsync('bash', [`${KIT_ROOT}/tooling/cluster/load.sh`, ...images]);
}

/** Builds the step's image, gives it the name its manifest uses and loads it into the cluster. */
export async function stepImageOnCluster(step: string): Promise<string> {
  const image = stepImage(step);
  await docker('tag', await buildStep(step), image);
  await loadIntoCluster(image);
  return image;
}

/** Creates NAMESPACE with the labels (Pod Security levels) of k8s/hits/namespace.yaml. */
export async function createNamespaceLike(namespace: string): Promise<void> {
  const manifest = await kubectlJson<{ metadata: { name: string } }>(
    'create',
    '--dry-run=client',
    '-f',
    `${KIT_ROOT}/k8s/hits/namespace.yaml`,
  );
  manifest.metadata.name = namespace;
  await kubectlStdin(JSON.stringify(manifest), 'create', '-f', '-');
}

/** Runs kubectl with INPUT on its stdin (a manifest for `-f -`). */
export async function kubectlStdin(input: string, ...args: string[]): Promise<string> {
  return runKubectl(args, input);
}

/** `kubectl auth can-i` as SERVICEACCOUNT (system:serviceaccount:NS:NAME): "yes" or "no" (it exits 1 on "no"). */
export async function canI(serviceAccount: string, ...args: string[]): Promise<string> {
  const out = await kubectl('auth', 'can-i', `--as=${serviceAccount}`, ...args).catch(
    (err: { stdout?: string }) => err.stdout ?? '',
  );
  return out.trim();
}

/**
 * A fresh namespace (Pod Security labels of k8s/hits) with Redis and the step's manifests, rolled
 * out. `ingress: false` leaves out the step's Ingress: Traefik, while the ingress test runs, serves
 * every Ingress of the cluster, so a file that runs beside that test (the own lane,
 * jest.config.js) must not add one.
 */
export async function deployStep(
  step: string,
  namespace: string,
  { ingress = true } = {},
): Promise<void> {
  await stepImageOnCluster(step);
  await createNamespaceLike(namespace);
  await kubectl('-n', namespace, 'apply', '-f', `${KIT_ROOT}/k8s/hits/redis.yaml`);
  if (ingress) {
    await kubectl('-n', namespace, 'apply', '-f', `${KIT_ROOT}/steps/${step}/deploy`);
  } else {
    const dir = `${KIT_ROOT}/steps/${step}/deploy`;
    const docs = readdirSync(dir)
      .filter((file) => file.endsWith('.yaml'))
      .flatMap((file) => readFileSync(`${dir}/${file}`, 'utf8').split(/^---$/m));
    const kept = docs.filter((doc) => !/^kind: Ingress$/m.test(doc));
    if (kept.length !== docs.length - 1)
      throw new Error(
        `steps/${step}/deploy: expected one Ingress to leave out, found ${docs.length - kept.length}`,
      );
    await kubectlStdin(kept.join('\n---\n'), '-n', namespace, 'apply', '-f', '-');
  }
  await rolledOut(namespace, 'statefulset/redis');
  await rolledOut(namespace, 'deploy/hits');
}

/** kubectl rollout status; on a timeout the error carries what a person would look at next. */
export async function rolledOut(
  namespace: string,
  workload: string,
  timeout = '120s',
): Promise<void> {
  try {
    await kubectl('-n', namespace, 'rollout', 'status', workload, `--timeout=${timeout}`);
  } catch (err) {
    const look = async (...args: string[]) =>
      `$ kubectl ${args.join(' ')}\n${await kubectl(...args).catch((e: Error) => e.message)}`;
    const details = await Promise.all([
      look('-n', namespace, 'get', 'pods,pvc', '-o', 'wide'),
      look('get', 'pv'),
      look('-n', namespace, 'get', 'events', '--sort-by=.lastTimestamp'),
    ]);
    throw new Error(
      `${workload} in ${namespace} did not roll out: ${(err as Error).message}\n${details.join('\n')}`,
      { cause: err },
    );
  }
}

/**
 * The NodePorts the suite's own Services take: kind publishes them on 127.0.0.1 beside the kit's
 * fixed ones (tooling/cluster/kind.yaml), since a NodePort kind does not publish is reachable only
 * at the node's container address, where test traffic never goes.
 */
export const TEST_NODE_PORTS = (() => {
  const config = readFileSync(`${KIT_ROOT}/tooling/cluster/kind.yaml`, 'utf8');
  const range = /^# test NodePorts: (\d+)-(\d+)$/m.exec(config);
  if (!range)
    throw new Error('tooling/cluster/kind.yaml names no "# test NodePorts: FROM-TO" range');
  const ports: number[] = [];
  for (let port = Number(range[1]); port <= Number(range[2]); port++) ports.push(port);
  return ports;
})();

/**
 * `kubectl expose WORKLOAD --type=NodePort` on the first free port of TEST_NODE_PORTS (the two
 * lanes of the suite may take one at the same moment: the API server refuses the second, which
 * takes the next). Returns the port.
 */
async function exposeNodePort(
  namespace: string,
  workload: string,
  name: string,
  ...ports: string[]
): Promise<number> {
  const service = await kubectlJson<{ spec: { ports: Array<{ nodePort?: number }> } }>(
    '-n',
    namespace,
    'expose',
    workload,
    `--name=${name}`,
    '--type=NodePort',
    '--dry-run=client',
    ...ports,
  );
  const taken = async () => {
    const all = await kubectlJson<{
      items: Array<{ spec: { ports?: Array<{ nodePort?: number }> } }>;
    }>('get', 'services', '-A');
    return new Set(all.items.flatMap((svc) => (svc.spec.ports ?? []).map((p) => p.nodePort)));
  };
  for (let tries = 0; tries < TEST_NODE_PORTS.length; tries++) {
    const used = await taken();
    const port = TEST_NODE_PORTS.find((p) => !used.has(p));
    if (port === undefined)
      throw new Error(
        `every test NodePort (${TEST_NODE_PORTS[0]}-${TEST_NODE_PORTS.at(-1)}) is taken`,
      );
    service.spec.ports[0]!.nodePort = port;
    try {
      await kubectlStdin(JSON.stringify(service), '-n', namespace, 'create', '-f', '-');
      return port;
    } catch (err) {
      if (!/already allocated/.test((err as { stderr?: string }).stderr ?? '')) throw err;
    }
  }
  throw new Error(`could not take a test NodePort for ${name} in ${namespace}`);
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
      status: {
        phase: string;
        containerStatuses?: Array<{ restartCount: number; ready: boolean }>;
      };
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
 * Deletes the namespace and waits until it is gone and its volumes released (kind's local-path
 * provisioner then deletes them). It is every cluster test's fresh start, so what it could not
 * delete is an error, with the details a person would look at: a stuck namespace, a volume still bound.
 */
export async function deleteNamespace(namespace: string, timeoutSeconds = 120): Promise<void> {
  const problems: string[] = [];
  const attempt = async (what: string, work: () => Promise<unknown>, into = problems) => {
    await work().catch((err: Error & { stderr?: string }) =>
      into.push(`${what}: ${(err.stderr || err.message).trim()}`),
    );
  };
  // Workloads first, so their pods' graceful stops run while the namespace still exists. A
  // time-out here matters only if the outcome checked below is wrong; then it is part of the story.
  const notes: string[] = [];
  await attempt(
    'deleting its workloads',
    () =>
      kubectl(
        '-n',
        namespace,
        'delete',
        'deployment,statefulset,pod',
        '--all',
        '--wait=true',
        '--timeout=90s',
      ),
    notes,
  );
  await attempt(
    'deleting the namespace',
    () =>
      kubectl(
        'delete',
        'namespace',
        namespace,
        '--ignore-not-found',
        '--wait=true',
        `--timeout=${timeoutSeconds}s`,
      ),
    notes,
  );
  await attempt('checking it is gone', async () => {
    const left = await kubectl('get', 'namespace', namespace, '--ignore-not-found', '-o', 'json');
    if (!left.trim()) return;
    const { status } = JSON.parse(left) as {
      status?: {
        phase?: string;
        conditions?: Array<{ type: string; status: string; message?: string }>;
      };
    };
    const why = (status?.conditions ?? [])
      .filter((c) => c.status === 'True')
      .map((c) => `${c.type}: ${c.message ?? ''}`);
    throw new Error(`still there (${status?.phase ?? 'unknown phase'}) ${why.join('; ')}`);
  });
  // The PV controller marks a volume Released a moment after its claim is gone.
  const stillBound = async () => {
    const volumes = await kubectlJson<{
      items: Array<{
        metadata: { name: string };
        spec: { claimRef?: { namespace?: string; name?: string } };
        status: { phase?: string };
      }>;
    }>('get', 'pv');
    return volumes.items
      .filter((pv) => pv.spec.claimRef?.namespace === namespace && pv.status.phase === 'Bound')
      .map((pv) => `${pv.metadata.name} (claim ${pv.spec.claimRef?.name})`);
  };
  let bound: string[] = [];
  await attempt('releasing its volumes', () =>
    eventually(
      `the volumes of ${namespace} to be released`,
      async () => ((bound = await stillBound()).length === 0 ? true : undefined),
      60_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; still Bound: ${bound.join(', ')}`);
    }),
  );
  if (problems.length > 0)
    throw new Error(
      `could not delete namespace ${namespace}:\n  ${[...notes, ...problems].join('\n  ')}`,
    );
}

/**
 * Removes the kustomization k8s/PIECE (which creates NAMESPACE) and waits until the namespace is
 * gone: applying it again while the namespace is still terminating would be refused. What it
 * could not remove is an error.
 */
export async function deleteK8sPiece(piece: string, namespace: string): Promise<void> {
  await kubectl(
    'delete',
    '-k',
    `${KIT_ROOT}/k8s/${piece}`,
    '--ignore-not-found',
    '--wait=true',
    '--timeout=120s',
  );
  const left = await kubectl(
    'get',
    'namespace',
    namespace,
    '--ignore-not-found',
    '-o',
    'jsonpath={.status.phase}',
  );
  if (left)
    throw new Error(
      `kubectl delete -k k8s/${piece}: namespace ${namespace} is still there (${left})`,
    );
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
  return manifests
    .split(/^---$/m)
    .map((doc) => {
      const out = doc
        .replace(
          /^(\s+namespace: )(hits|monitoring)$/gm,
          (_, key: string, name: string) => key + moved[name],
        )
        .replaceAll('hits-metrics.hits.svc', `hits-metrics.${namespace}.svc`)
        .replaceAll('prometheus.monitoring.svc', `prometheus.${monitoring}.svc`)
        .replace(/(target_label: namespace\s+replacement: )hits$/gm, `$1${namespace}`); // the series' namespace label
      return /^kind: Namespace$/m.test(out)
        ? out.replace(
            /^( {2}name: )(hits|monitoring)$/m,
            (_, key: string, name: string) => key + moved[name],
          )
        : out;
    })
    .join('---');
}

/**
 * k8s/prometheus moved to `NAMESPACE-monitoring` and scraping the app of NAMESPACE (movedTo),
 * rolled out and on a NodePort; returns its URL once it answers.
 */
export async function deployPrometheusFor(namespace: string): Promise<string> {
  const monitoring = monitoringOf(namespace);
  await kubectlStdin(
    movedTo(await kubectl('kustomize', `${KIT_ROOT}/k8s/prometheus`), namespace),
    'apply',
    '-f',
    '-',
  );
  await rolledOut(monitoring, 'deploy/prometheus');
  const url = `http://127.0.0.1:${await exposeNodePort(monitoring, 'deploy/prometheus', 'prometheus-nodeport', '--port=9090')}`;
  await answers(`${url}/-/ready`);
  return url;
}
