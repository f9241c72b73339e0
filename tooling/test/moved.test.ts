/**
 * movedTo (tooling/testkit/cluster.ts): the cluster test files of the second lane deploy the kit's
 * manifests in namespaces of their own. Checked on the real files: every reference to hits and
 * monitoring as a namespace moves, and nothing else changes.
 */
import { readFileSync } from 'node:fs';
import { KIT_ROOT } from '../testkit/docker.js';
import { movedTo } from '../testkit/cluster.js';

const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');
/** The lines that differ, as [before, after]. */
const changed = (before: string, after: string) => {
  const [a, b] = [before.split('\n'), after.split('\n')];
  expect(b).toHaveLength(a.length);
  return a.map((line, i) => [line.trim(), b[i]!.trim()]).filter(([x, y]) => x !== y);
};

test('the operator: its namespace, its RoleBinding subject, its Prometheus address', () => {
  const manifests = `${read('steps/04-operator/operator/deploy/rbac.yaml')}\n---\n${read('steps/04-operator/operator/deploy/operator.yaml')}`;
  expect(changed(manifests, movedTo(manifests, 'e2e-04'))).toEqual([
    ...Array.from({ length: 4 }, () => ['namespace: hits', 'namespace: e2e-04']), // Role, ServiceAccount, RoleBinding and its subject
    ['namespace: hits', 'namespace: e2e-04'], // the Deployment
    [
      'value: http://prometheus.monitoring.svc:9090',
      'value: http://prometheus.e2e-04-monitoring.svc:9090',
    ],
  ]);
});

test('Prometheus: its namespace, and the pods it scrapes with the namespace label it gives them', () => {
  const objects = read('k8s/prometheus/prometheus.yaml');
  const moved = changed(objects, movedTo(objects, 'e2e-03'));
  expect(moved[0]).toEqual(['name: monitoring', 'name: e2e-03-monitoring']); // the Namespace
  expect(
    moved
      .slice(1)
      .every(([a, b]) => a === 'namespace: monitoring' && b === 'namespace: e2e-03-monitoring'),
  ).toBe(true);
  // As kustomize embeds it in the ConfigMap: indented.
  const config = read('k8s/prometheus/prometheus.yml').replace(/^/gm, '    ');
  expect(changed(config, movedTo(config, 'e2e-03'))).toEqual([
    [
      '- names: [hits-metrics.hits.svc.cluster.local]',
      '- names: [hits-metrics.e2e-03.svc.cluster.local]',
    ],
    ['replacement: hits', 'replacement: e2e-03'], // target_label namespace; the app label stays hits
  ]);
});
