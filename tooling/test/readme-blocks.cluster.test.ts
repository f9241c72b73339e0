/**
 * The step READMEs' `kubectl` blocks (marked `<!-- test: cluster -->`) run literally, from the
 * step's folder, on the kit's Kubernetes cluster: KUBECONFIG and kubectl of tooling/cluster/env.sh,
 * as `eval "$(./kit cluster env)"` gives a person. The READMEs use namespaces hits and monitoring
 * and port 8080 on the host, so this one file runs them one after another, each from no namespace
 * to its own clean-up block. The image each README's `docker build` makes is built first (the
 * Docker suite runs those blocks).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KIT_ROOT, blocksFor, clusterEnv, deleteNamespace, deletePrometheus, describeReadme, stepImageOnCluster } from '@kit/testkit';

const { kubeconfig, kubectl } = clusterEnv();
const env = { ...process.env, KUBECONFIG: kubeconfig, PATH: `${dirname(kubectl)}:${process.env.PATH ?? ''}` };
const fresh = () => Promise.all([deleteNamespace('hits'), deletePrometheus()]).then(() => undefined);

for (const step of readdirSync(`${KIT_ROOT}/steps`).sort()) {
  if (blocksFor(readFileSync(`${KIT_ROOT}/steps/${step}/README.md`, 'utf8'), 'cluster').length === 0) continue;
  describeReadme(step, 'cluster', KIT_ROOT, {
    env,
    before: async () => {
      await Promise.all([stepImageOnCluster(step), fresh()]);
    },
    // The README's `kubectl delete namespace` ran last; this also makes the local cluster's
    // volumes available again for the next test.
    after: fresh,
  });
}
