/**
 * What step 04's manifests promise, read from the files an attendee applies (no cluster): the
 * app's Deployment leaves `replicas` to the operator, and the operator's probes ask the endpoints
 * main.ts wires to the worker (liveness) and to the Lease (readiness).
 */
import { readFileSync } from 'node:fs';
import { KIT_ROOT } from '@kit/testkit';

const STEP = `${KIT_ROOT}/steps/04-operator`;
/** The YAML documents of FILE that are of KIND, as text (the comments included: they are not fields). */
const documents = (file: string, kind: string) =>
  readFileSync(`${STEP}/${file}`, 'utf8')
    .split(/^---$/m)
    .filter((doc) => new RegExp(`^kind: ${kind}$`, 'm').test(doc));
/** The lines of DOC that are fields, not comments. */
const fields = (doc: string) =>
  doc
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, ''))
    .filter((line) => line.trim() && !line.trim().startsWith('#'));

test("deploy/app.yaml: the Deployment the operator scales has no `replicas` (a re-apply would undo the operator's decision)", () => {
  const [deployment, ...others] = documents('deploy/app.yaml', 'Deployment');
  expect(others).toEqual([]);
  expect(fields(deployment!).filter((line) => /^\s*replicas\s*:/.test(line))).toEqual([]);
});

test('operator.yaml: liveness on /healthz (the worker, health.ts), readiness on /readyz (the Lease); operator-image.test.ts shows main.ts answers both', () => {
  const [deployment] = documents('operator/deploy/operator.yaml', 'Deployment');
  const probe = (name: string) =>
    new RegExp(`^\\s+${name}:[^\\n]*\\n\\s+httpGet: \\{ path: (\\S+), port: http \\}`, 'm').exec(
      deployment!,
    )?.[1];
  expect([probe('livenessProbe'), probe('readinessProbe')]).toEqual(['/healthz', '/readyz']);
});
