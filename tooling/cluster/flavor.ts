/**
 * Which kind of cluster a kube context points at, and how a locally built image gets into it.
 * Pure logic, no I/O: tooling/deploy.ts feeds it what kubectl reports, and it is unit-tested.
 *
 * Why it matters: a cluster that does not share this machine's Docker images tries to *pull*
 * `hits:1.2.0` from Docker Hub and fails with ErrImagePull. Each local cluster has its own
 * way to copy an image in; the kit then deploys a tag unique to the build (so a rebuilt image
 * really rolls out) with `imagePullPolicy: Never` (so a missing image fails loudly, at once).
 */

/** The facts about a node that tell cluster kinds apart (from `kubectl get nodes -o json`). */
export interface NodeFacts {
  name: string;
  providerID?: string;
  labels: Record<string, string>;
}

export type Flavor =
  | { kind: 'docker-desktop'; note: string }
  | { kind: 'kind'; cluster: string }
  | { kind: 'k3d'; cluster: string }
  | { kind: 'minikube'; profile: string }
  | { kind: 'unknown' };

/** The kit's own cluster is a kind cluster of this name (tooling/cluster/common.sh, CLUSTER_NAME). */
export const KIT_CLUSTER_NAME = 'kube-selfops';

/** The kit's own cluster: it publishes the NodePorts on 127.0.0.1 and has no registry to pull from. */
export function isKitCluster(flavor: Flavor): boolean {
  return flavor.kind === 'kind' && flavor.cluster === KIT_CLUSTER_NAME;
}

export function detectFlavor(context: string, nodes: NodeFacts[]): Flavor {
  if (context === 'docker-desktop' || nodes.some((node) => node.name === 'docker-desktop')) {
    return {
      kind: 'docker-desktop',
      note: "Docker Desktop's cluster runs the engine's own images: nothing to load",
    };
  }
  const minikube = nodes.map((node) => node.labels['minikube.k8s.io/name']).find(Boolean);
  if (minikube) return { kind: 'minikube', profile: minikube };
  // kind sets providerID kind://<provider>/<cluster>/<node>; its contexts are kind-<cluster>.
  for (const node of nodes) {
    const match = /^kind:\/\/[^/]+\/([^/]+)\//.exec(node.providerID ?? '');
    if (match?.[1]) return { kind: 'kind', cluster: match[1] };
  }
  // k3d runs k3s (providerID k3s://<node>) in containers named k3d-<cluster>-server-0 / -agent-N.
  for (const node of nodes) {
    const match = /^k3d-(.+)-(server|agent)-\d+$/.exec(node.name);
    if (match?.[1] && (node.providerID ?? '').startsWith('k3s://'))
      return { kind: 'k3d', cluster: match[1] };
  }
  if (context.startsWith('kind-')) return { kind: 'kind', cluster: context.slice('kind-'.length) };
  if (context.startsWith('k3d-')) return { kind: 'k3d', cluster: context.slice('k3d-'.length) };
  return { kind: 'unknown' };
}

/** The command that copies IMAGE from this machine's Docker into the cluster; undefined: none needed. */
export function loadCommand(flavor: Flavor, image: string): string[] | undefined {
  switch (flavor.kind) {
    case 'kind':
      return ['kind', 'load', 'docker-image', image, '--name', flavor.cluster];
    case 'k3d':
      return ['k3d', 'image', 'import', image, '--cluster', flavor.cluster];
    case 'minikube':
      return ['minikube', 'image', 'load', image, '--profile', flavor.profile];
    case 'docker-desktop':
      return undefined;
    case 'unknown':
      throw new Error(
        `don't know how to get ${image} into this cluster (not kind, k3d, minikube or Docker Desktop). ` +
          `Push it to a registry your cluster pulls from, or copy it onto every node, then run again with KIT_IMAGE_LOADED=1.`,
      );
  }
}

/**
 * A tag unique to one build: the step's version plus the start of the image ID, e.g.
 * hits:1.2.0-3f2a9c1b7d4e. A rebuilt image gets a new tag, so the Deployment really rolls out.
 */
export function uniqueTag(image: string, imageId: string): string {
  const digest = /^(?:sha256:)?([0-9a-f]{12})/.exec(imageId)?.[1];
  if (!digest) throw new Error(`not an image ID: "${imageId}"`);
  return `${image}-${digest}`;
}
