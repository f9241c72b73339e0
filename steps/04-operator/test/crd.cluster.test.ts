/**
 * The LatencyScaler CRD on a real API server: a bad LatencyScaler is refused by the API server
 * itself (structural schema + a CEL rule), with a message that says what is wrong, so the
 * operator never sees one. Server-side dry runs: nothing is stored.
 */
import { holdLock, kubectl, kubectlStdin, KIT_ROOT } from '@kit/testkit';

const CRD = `${KIT_ROOT}/steps/04-operator/operator/deploy/crd.yaml`;

function scaler(spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'selfops.kube-selfops.dev/v1alpha1',
    kind: 'LatencyScaler',
    metadata: { name: 'crd-test' },
    spec,
  });
}

/** Creates SPEC with a server-side dry run; returns what the API server would store. */
async function dryRun(spec: Record<string, unknown>): Promise<{ spec: Record<string, unknown> }> {
  return JSON.parse(
    await kubectlStdin(
      scaler(spec),
      '-n',
      'default',
      'create',
      '--dry-run=server',
      '-o',
      'json',
      '-f',
      '-',
    ),
  ) as { spec: Record<string, unknown> };
}

// The CRD stays installed for the other cluster test files that use it (tooling/testkit/lock.ts).
let releaseCrd: () => Promise<void> = () => Promise.resolve();

beforeAll(async () => {
  releaseCrd = await holdLock('crd', 'shared');
  await kubectl('apply', '-f', CRD);
  await kubectl(
    'wait',
    '--for=condition=Established',
    'crd/latencyscalers.selfops.kube-selfops.dev',
    '--timeout=60s',
  );
}, 1_800_000);
afterAll(() => releaseCrd());

test("a valid LatencyScaler is accepted, with the schema's defaults filled in", async () => {
  const stored = await dryRun({ targetRef: { name: 'hits' }, maxReplicas: 3 });
  console.log(`defaults: ${JSON.stringify(stored.spec)}`);
  expect(stored.spec).toEqual({
    targetRef: { name: 'hits' },
    maxReplicas: 3,
    thresholdMs: 100,
    minReplicas: 1,
    cooldownSeconds: 20,
    scaleDownWindowSeconds: 60,
    paused: false,
    dryRun: false,
  });
});

test.each([
  [
    'minReplicas > maxReplicas (the CEL rule)',
    { targetRef: { name: 'hits' }, minReplicas: 4, maxReplicas: 2 },
    'minReplicas must be less than or equal to maxReplicas',
  ],
  [
    'thresholdMs 0',
    { targetRef: { name: 'hits' }, thresholdMs: 0, maxReplicas: 3 },
    'spec.thresholdMs: Invalid value: 0: spec.thresholdMs in body should be greater than or equal to 1',
  ],
  ['no targetRef', { maxReplicas: 3 }, 'spec.targetRef: Required value'],
  [
    'minReplicas 0',
    { targetRef: { name: 'hits' }, minReplicas: 0, maxReplicas: 3 },
    'spec.minReplicas: Invalid value: 0: spec.minReplicas in body should be greater than or equal to 1',
  ],
  [
    'a threshold in seconds as a string',
    { targetRef: { name: 'hits' }, thresholdMs: '0.1', maxReplicas: 3 },
    'spec.thresholdMs: Invalid value: "string": spec.thresholdMs in body must be of type integer',
  ],
  [
    'a targetRef name that is not a DNS-1123 name (it goes into PromQL)',
    { targetRef: { name: 'hits"} or up{x="' }, maxReplicas: 3 },
    'spec.targetRef.name in body should match',
  ],
  [
    'a cooldown shorter than the 10 s window of the p95 (CEL)',
    { targetRef: { name: 'hits' }, maxReplicas: 3, cooldownSeconds: 5 },
    'cooldownSeconds and scaleDownWindowSeconds must be at least 10',
  ],
  [
    'a scale-down window shorter than 10 s (CEL)',
    { targetRef: { name: 'hits' }, maxReplicas: 3, scaleDownWindowSeconds: 8 },
    'cooldownSeconds and scaleDownWindowSeconds must be at least 10',
  ],
])('the API server refuses %s', async (_, spec, message) => {
  const refusal = await dryRun(spec).then(
    () => 'accepted',
    (err: Error) => err.message,
  );
  console.log(refusal.trim());
  expect(refusal).toContain('is invalid');
  expect(refusal).toContain(message);
});
