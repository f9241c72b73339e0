/**
 * Unit test of pure logic (tooling/cluster/flavor.ts): which cluster a context points at and how
 * the image gets into it. The node facts are what each tool really reports; the end-to-end proof
 * of the deploy path is tooling/test/kit.cluster.test.ts, on a real cluster.
 */
import {
  detectFlavor,
  isKitCluster,
  loadCommand,
  uniqueTag,
  type NodeFacts,
} from '../cluster/flavor.ts';

const node = (
  name: string,
  providerID?: string,
  labels: Record<string, string> = {},
): NodeFacts => ({ name, providerID, labels });

describe('detectFlavor', () => {
  test.each([
    [
      'kind-kind',
      [node('kind-control-plane', 'kind://docker/kind/kind-control-plane')],
      { kind: 'kind', cluster: 'kind' },
    ],
    [
      'kind-talk',
      [
        node('talk-control-plane', 'kind://podman/talk/talk-control-plane'),
        node('talk-worker', 'kind://podman/talk/talk-worker'),
      ],
      { kind: 'kind', cluster: 'talk' },
    ],
    [
      'k3d-demo',
      [
        node('k3d-demo-server-0', 'k3s://k3d-demo-server-0'),
        node('k3d-demo-agent-0', 'k3s://k3d-demo-agent-0'),
      ],
      { kind: 'k3d', cluster: 'demo' },
    ],
    [
      'minikube',
      [node('minikube', undefined, { 'minikube.k8s.io/name': 'minikube' })],
      { kind: 'minikube', profile: 'minikube' },
    ],
    [
      'workshop',
      [node('workshop', undefined, { 'minikube.k8s.io/name': 'workshop' })],
      { kind: 'minikube', profile: 'workshop' },
    ],
    [
      'my-kind',
      [node('x-control-plane', 'kind://docker/x/x-control-plane')],
      { kind: 'kind', cluster: 'x' },
    ], // renamed context
    ['kind-old', [node('old-control-plane')], { kind: 'kind', cluster: 'old' }], // no providerID: the context name decides
    ['prod', [node('ip-10-0-0-1', 'aws:///eu-west-1a/i-0abc')], { kind: 'unknown' }],
  ])('context %s', (context, nodes, expected) => {
    expect(detectFlavor(context, nodes)).toEqual(expected);
  });

  test("the kit's own cluster is the kind cluster kube-selfops, under any context name", () => {
    const kit = detectFlavor('whatever', [
      node('kube-selfops-control-plane', 'kind://docker/kube-selfops/kube-selfops-control-plane'),
    ]);
    expect(kit).toEqual({ kind: 'kind', cluster: 'kube-selfops' });
    expect(isKitCluster(kit)).toBe(true);
    expect(
      isKitCluster(
        detectFlavor('kind-kind', [
          node('kind-control-plane', 'kind://docker/kind/kind-control-plane'),
        ]),
      ),
    ).toBe(false);
    expect(
      isKitCluster(
        detectFlavor('k3d-kube-selfops', [
          node('k3d-kube-selfops-server-0', 'k3s://k3d-kube-selfops-server-0'),
        ]),
      ),
    ).toBe(false);
  });

  test('Docker Desktop needs no loading', () => {
    expect(detectFlavor('docker-desktop', [node('docker-desktop')]).kind).toBe('docker-desktop');
  });
});

describe('loadCommand', () => {
  const image = 'hits:1.2.0-0123456789ab';
  test('one command per cluster kind, naming the cluster', () => {
    expect(loadCommand({ kind: 'kind', cluster: 'talk' }, image)).toEqual([
      'kind',
      'load',
      'docker-image',
      image,
      '--name',
      'talk',
    ]);
    expect(loadCommand({ kind: 'k3d', cluster: 'demo' }, image)).toEqual([
      'k3d',
      'image',
      'import',
      image,
      '--cluster',
      'demo',
    ]);
    expect(loadCommand({ kind: 'minikube', profile: 'workshop' }, image)).toEqual([
      'minikube',
      'image',
      'load',
      image,
      '--profile',
      'workshop',
    ]);
    expect(loadCommand({ kind: 'docker-desktop', note: '' }, image)).toBeUndefined();
  });

  test('an unknown cluster gets a clear error that says what to do', () => {
    expect(() => loadCommand({ kind: 'unknown' }, image)).toThrow(
      /Push it to a registry.*KIT_IMAGE_LOADED=1/,
    );
  });
});

test('uniqueTag: the version plus the first 12 hex digits of the image ID', () => {
  expect(
    uniqueTag(
      'hits:1.3.0',
      'sha256:3f2a9c1b7d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4',
    ),
  ).toBe('hits:1.3.0-3f2a9c1b7d4e');
  expect(() => uniqueTag('hits:1.3.0', 'not-an-id')).toThrow(/not an image ID/);
});
