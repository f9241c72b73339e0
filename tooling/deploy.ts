/**
 * Deploys a step's image (already built by `./kit up`) to a Kubernetes cluster, the way the step
 * README does by hand: k8s/hits (namespace + Redis), the step's deploy/ manifests, and from step
 * 03 on k8s/prometheus. Works on the kit's cluster (kind, named kube-selfops) and on yours (kind,
 * k3d, minikube, Docker Desktop): it loads the image the way your cluster needs
 * (tooling/cluster/flavor.ts), under a tag unique to the build, with `imagePullPolicy: Never`.
 * The kit's cluster has no registry to pull from: the images the applied manifests name (Redis,
 * Prometheus) are loaded into it from this machine's Docker too.
 *
 *   node tooling/deploy.ts --step 02-pid1-fixed --image hits:1.2.0 [--context kind-kind]
 *
 * KUBECONFIG is honoured; --context picks one of its contexts (default: the current one).
 * KIT_IMAGE_LOADED=1 skips loading (you pushed the image where your cluster finds it).
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import {
  detectFlavor,
  isKitCluster,
  loadCommand,
  uniqueTag,
  type Flavor,
  type NodeFacts,
} from './cluster/flavor.ts';
import { answers } from './lib/eventually.ts';
import { imagesIn } from './lib/manifests.ts';

const execFileAsync = promisify(execFile);
const KIT_ROOT = fileURLToPath(new URL('..', import.meta.url));
const t0 = Number(process.env.KIT_T0 ?? Date.now() / 1000);

const progress = (message: string) =>
  process.stderr.write(
    `\x1b[1m[kit ${String(Math.round(Date.now() / 1000 - t0)).padStart(4)}s]\x1b[0m ${message}\n`,
  );

class KitError extends Error {}

/** Runs a command; a missing program or a failure becomes one clear line, with what to do. */
async function run(cmd: string[], hint = ''): Promise<string> {
  const [file, ...args] = cmd as [string, ...string[]];
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { maxBuffer: 64 * 1024 * 1024 });
    // kubectl's warnings are worth reading (e.g. Pod Security: "would violate ... restricted").
    for (const line of stderr.split('\n'))
      if (line.startsWith('Warning:')) process.stderr.write(`  ${line}\n`);
    return stdout;
  } catch (err) {
    const e = err as { code?: string | number; stderr?: string; message: string };
    if (e.code === 'ENOENT')
      throw new KitError(`${file} is not installed (or not on PATH). ${hint}`.trim());
    throw new KitError(
      `${cmd.join(' ')} failed: ${(e.stderr || e.message).trim()}${hint ? `\n${hint}` : ''}`,
    );
  }
}

const { values: opts } = parseArgs({
  options: {
    step: { type: 'string' },
    image: { type: 'string' },
    context: { type: 'string' },
    'operator-image': { type: 'string' },
  },
});

async function main(): Promise<void> {
  const { step, image } = opts;
  if (!step || !image)
    throw new KitError(
      'usage: node tooling/deploy.ts --step STEP --image hits:X.Y.Z [--context NAME]',
    );

  const kubectlHint =
    "Install kubectl (https://kubernetes.io/docs/tasks/tools/), or use the kit's own cluster: ./kit up STEP --cluster.";
  const context =
    opts.context ?? (await run(['kubectl', 'config', 'current-context'], kubectlHint)).trim();
  const kubectl = (...args: string[]) => run(['kubectl', '--context', context, ...args]);

  // One cheap call that proves the cluster answers, and tells what kind of cluster it is.
  const nodeList = await run(
    ['kubectl', '--context', context, '--request-timeout=15s', 'get', 'nodes', '-o', 'json'],
    `Is the cluster of context "${context}" running? (kind get clusters / k3d cluster list / minikube status; kubectl config get-contexts)`,
  );
  const nodes: NodeFacts[] = (
    JSON.parse(nodeList) as {
      items: Array<{
        metadata: { name: string; labels?: Record<string, string> };
        spec: { providerID?: string };
      }>;
    }
  ).items.map((node) => ({
    name: node.metadata.name,
    providerID: node.spec.providerID,
    labels: node.metadata.labels ?? {},
  }));
  const flavor = detectFlavor(context, nodes);
  const kitCluster = isKitCluster(flavor);
  progress(`context ${context}: ${describe(flavor)}`);

  // A tag unique to this build, loaded the way this cluster needs.
  const loadImage = async (image: string): Promise<string> => {
    const id = (
      await run(
        ['docker', 'image', 'inspect', '-f', '{{.Id}}', image],
        'Build it first: ./kit up STEP --cluster does.',
      )
    ).trim();
    const tag = uniqueTag(image, id);
    await run(['docker', 'tag', image, tag]);
    if (process.env.KIT_IMAGE_LOADED === '1') {
      progress(`using ${tag} as it is (KIT_IMAGE_LOADED=1)`);
    } else {
      const load = loadCommand(flavor, tag);
      if (load) {
        progress(`loading ${tag} into the cluster: ${load.join(' ')}`);
        await run(load, `Or load it yourself, then run again with KIT_IMAGE_LOADED=1.`);
      } else if (flavor.kind === 'docker-desktop') {
        progress(`${tag}: ${flavor.note}`);
      }
    }
    return tag;
  };
  const tag = await loadImage(image);

  // From step 04 on, the step has an operator, whose resource (LatencyScaler) is in deploy/: its
  // CRD goes first, as a cluster admin would install it.
  const operatorDir = join(KIT_ROOT, 'steps', step, 'operator');
  const hasOperator = opts['operator-image'] !== undefined;
  if (hasOperator) {
    progress('applying the LatencyScaler CRD (operator/deploy/crd.yaml)');
    await kubectl('apply', '-f', join(operatorDir, 'deploy/crd.yaml'));
    await kubectl(
      'wait',
      '--for=condition=Established',
      'crd/latencyscalers.selfops.kube-selfops.dev',
      '--timeout=60s',
    );
  }

  const metrics = (
    await readFile(join(KIT_ROOT, 'steps', step, 'deploy/app.yaml'), 'utf8')
  ).includes('hits-metrics');
  if (kitCluster) {
    // No registry: what the kit's manifests run comes from this machine's Docker (tooling/install/images.sh).
    for (const dir of metrics ? ['k8s/hits', 'k8s/prometheus'] : ['k8s/hits']) {
      for (const base of imagesIn(await kubectl('kustomize', join(KIT_ROOT, dir)))) {
        progress(`loading ${base} (${dir}) into the cluster, unless it is there`);
        await run(loadCommand(flavor, base)!);
      }
    }
  }
  // A README's clean-up (`kubectl delete namespace hits`) right before: applying into a namespace
  // that is being deleted is refused, so wait until it is gone.
  for (const namespace of metrics ? ['hits', 'monitoring'] : ['hits'])
    await notTerminating(kubectl, namespace);
  progress('applying k8s/hits (namespace hits, Redis)');
  await kubectl('apply', '-k', join(KIT_ROOT, 'k8s/hits'));
  progress(`applying steps/${step}/deploy with image ${tag} (imagePullPolicy: Never)`);
  await applyStep(kubectl, step, tag);
  if (metrics) {
    progress('applying k8s/prometheus (namespace monitoring)');
    await kubectl('apply', '-k', join(KIT_ROOT, 'k8s/prometheus'));
  }
  if (kitCluster) {
    await kubectl('apply', '-f', join(KIT_ROOT, 'k8s/local/nodeports.yaml'));
    if (metrics) await kubectl('apply', '-f', join(KIT_ROOT, 'k8s/local/prometheus-nodeport.yaml'));
  }

  progress(`rolling out ${step} in namespace hits`);
  await kubectl('-n', 'hits', 'rollout', 'status', 'statefulset/redis', '--timeout=180s');
  await kubectl('-n', 'hits', 'rollout', 'status', 'deploy/hits', '--timeout=180s').catch(
    (err: Error) => {
      throw new KitError(
        `${err.message}\nWhy: kubectl --context ${context} -n hits describe pods -l app.kubernetes.io/name=hits`,
      );
    },
  );
  if (metrics)
    await kubectl('-n', 'monitoring', 'rollout', 'status', 'deploy/prometheus', '--timeout=180s');
  if (hasOperator) {
    const operatorTag = await loadImage(opts['operator-image']!);
    progress(
      `applying steps/${step}/operator/deploy (RBAC, the operator) with image ${operatorTag}`,
    );
    await applyManifests(
      kubectl,
      join(operatorDir, 'deploy'),
      ['rbac.yaml', 'operator.yaml'],
      operatorTag,
      'latency-operator',
    );
    await kubectl('-n', 'hits', 'rollout', 'status', 'deploy/latency-operator', '--timeout=180s');
  }

  if (kitCluster) {
    // An address is printed only once it answers: kube-proxy programs a new NodePort a moment
    // after its Service exists (a cold first start refused 127.0.0.1:30090 just after the rollout).
    progress('waiting for the NodePorts to answer');
    await waitFor(
      'http://127.0.0.1:30080/status',
      'the app',
      (status, body) => status === 404 || body.includes('"redis":"connected"'),
    );
    if (metrics)
      await waitFor('http://127.0.0.1:30090/-/ready', 'Prometheus', (status) => status === 200);
    console.log(
      `\n  ${step} is running on the kit's cluster (kind, context ${context}): open http://127.0.0.1:30080/`,
    );
    if (metrics) console.log('  Prometheus: http://127.0.0.1:30090/');
    if (hasOperator)
      console.log(
        '  The operator: kubectl -n hits get latencyscalers; kubectl -n hits logs deploy/latency-operator',
      );
    console.log(
      `  kubectl: eval "$(./kit cluster env)"; kubectl -n hits get pods; kubectl -n hits logs deploy/hits`,
    );
    console.log(`  Next: steps/${step}/README.md ("On Kubernetes"). Stop: ./kit cluster down\n`);
  } else {
    const ctx = `--context ${context}`;
    console.log(`\n  ${step} is running in namespace hits (context ${context}, image ${tag}).`);
    console.log(
      `  Open it:  kubectl ${ctx} -n hits port-forward svc/hits 8080:80   then http://127.0.0.1:8080/`,
    );
    if (metrics)
      console.log(
        `  Prometheus: kubectl ${ctx} -n monitoring port-forward svc/prometheus 9090:9090`,
      );
    console.log(
      `  Or through your ingress controller (k8s/ingress/README.md): the step's Ingress routes / to it.`,
    );
    console.log(
      `  Next: steps/${step}/README.md ("On Kubernetes"). Remove: kubectl ${ctx} delete namespace hits\n`,
    );
  }
}

function describe(flavor: Flavor): string {
  switch (flavor.kind) {
    case 'docker-desktop':
      return 'Docker Desktop';
    case 'kind':
      return `kind cluster "${flavor.cluster}"${isKitCluster(flavor) ? " (the kit's own)" : ''}`;
    case 'k3d':
      return `k3d cluster "${flavor.cluster}"`;
    case 'minikube':
      return `minikube profile "${flavor.profile}"`;
    case 'unknown':
      return 'a cluster of unknown kind';
  }
}

/** Waits, with a progress line, until NAMESPACE is gone if it is being deleted; 120 s at most. */
async function notTerminating(
  kubectl: (...args: string[]) => Promise<string>,
  namespace: string,
): Promise<void> {
  const phase = (
    await kubectl(
      'get',
      'namespace',
      namespace,
      '--ignore-not-found',
      '-o',
      'jsonpath={.status.phase}',
    )
  ).trim();
  if (phase !== 'Terminating') return;
  progress(
    `namespace ${namespace} is being deleted (a clean-up just ran): waiting until it is gone, 120 s at most`,
  );
  await kubectl('wait', '--for=delete', `namespace/${namespace}`, '--timeout=120s').catch(() => {
    throw new KitError(
      `namespace ${namespace} is still being deleted after 120 s; what holds it: kubectl get namespace ${namespace} -o yaml`,
    );
  });
}

/**
 * The step's manifests through a throw-away kustomization: the unique tag and `Never` replace
 * what the README's `kubectl apply -f deploy/` would use, and nothing else changes.
 */
async function applyStep(
  kubectl: (...args: string[]) => Promise<string>,
  step: string,
  tag: string,
): Promise<void> {
  const deployDir = join(KIT_ROOT, 'steps', step, 'deploy');
  const files = (await readdir(deployDir)).filter((file) => /\.ya?ml$/.test(file)).sort();
  await applyManifests(kubectl, deployDir, files, tag, 'hits');
}

/** FILES of DIR in namespace hits, with the Deployment DEPLOYMENT's image TAG, never pulled. */
async function applyManifests(
  kubectl: (...args: string[]) => Promise<string>,
  deployDir: string,
  files: string[],
  tag: string,
  deployment: string,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kit-deploy-'));
  try {
    for (const file of files) await copyFile(join(deployDir, file), join(dir, file));
    const [name, newTag] = tag.split(':') as [string, string];
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      namespace: 'hits',
      resources: files,
      images: [{ name, newTag }],
      patches: [
        {
          target: { kind: 'Deployment', name: deployment },
          patch: JSON.stringify([
            {
              op: 'replace',
              path: '/spec/template/spec/containers/0/imagePullPolicy',
              value: 'Never',
            },
          ]),
        },
      ],
    };
    await writeFile(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2)); // JSON is YAML
    await kubectl('apply', '-k', dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Waits until URL answers and READY accepts it (the app: /status says Redis is connected; step 00 has none, a 404). */
async function waitFor(
  url: string,
  what: string,
  ready: (status: number, body: string) => boolean,
): Promise<void> {
  await answers(url, 60_000, ready).catch((err: Error) => {
    throw new KitError(`${what} is not ready: ${err.message}; see: kubectl get pods,svc -A`);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(
    `\x1b[31mkit: ${err instanceof KitError ? err.message : String(err instanceof Error ? err.stack : err)}\x1b[0m\n`,
  );
  process.exit(1);
});
