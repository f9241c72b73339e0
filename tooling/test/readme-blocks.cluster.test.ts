/**
 * The step READMEs' `kind load` and `kubectl` blocks (marked `<!-- test: cluster -->`) run
 * literally, from the step's folder, on the kit's kind cluster: KUBECONFIG, kubectl, kind and
 * KIND_CLUSTER_NAME of tooling/cluster/env.sh, as `eval "$(./kit cluster env)"` gives a person. The READMEs use namespaces hits and monitoring
 * and port 8080 on the host, so this one file runs them one after another, each from no namespace
 * to its own clean-up block. The images the README's `docker build` lines make (the app's; in
 * step 04 the operator's too) are built first, by those lines as written (the Docker suite runs
 * their blocks); the README's own `kind load docker-image` lines bring them into the cluster. Step 04's clean-up block
 * deletes the LatencyScaler CRD, so this file holds the CRD lock exclusive (tooling/testkit/lock.ts).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import {
  KIT_ROOT,
  blocksFor,
  clusterEnv,
  deleteNamespace,
  deletePrometheus,
  describeReadme,
  holdLock,
} from '@kit/testkit';

const execFileAsync = promisify(execFile);
const { kubeconfig, kubectl, kindCluster } = clusterEnv();
const env = {
  ...process.env,
  KUBECONFIG: kubeconfig,
  KIND_CLUSTER_NAME: kindCluster,
  PATH: `${dirname(kubectl)}:${process.env.PATH ?? ''}`,
};
const fresh = () =>
  Promise.all([deleteNamespace('hits'), deletePrometheus()]).then(() => undefined);

/** Runs the `docker build` lines of the README's Docker blocks, one after another, from the step's folder. */
async function buildImages(step: string, markdown: string): Promise<void> {
  const lines = blocksFor(markdown, 'docker')
    .flatMap((block) => block.code.split('\n'))
    .filter((line) => /^docker build /.test(line));
  if (lines.length === 0)
    throw new Error(
      `steps/${step}/README.md builds no image in a Docker block: its kubectl blocks would deploy nothing`,
    );
  for (const line of lines) {
    if (line.trimEnd().endsWith('\\'))
      throw new Error(
        `steps/${step}/README.md: a \`docker build\` continued on the next line: ${line}`,
      );
    await execFileAsync('bash', ['-c', line], {
      cwd: `${KIT_ROOT}/steps/${step}`,
      maxBuffer: 64 * 1024 * 1024,
    });
  }
}

let releaseCrd: () => Promise<void> = () => Promise.resolve();
beforeAll(async () => {
  releaseCrd = await holdLock('crd', 'exclusive');
}, 1_800_000);
afterAll(() => releaseCrd());

for (const step of readdirSync(`${KIT_ROOT}/steps`).sort()) {
  const markdown = readFileSync(`${KIT_ROOT}/steps/${step}/README.md`, 'utf8');
  if (blocksFor(markdown, 'cluster').length === 0) continue;
  describeReadme(`steps/${step}`, 'cluster', KIT_ROOT, {
    env,
    before: async () => {
      await Promise.all([buildImages(step, markdown), fresh()]);
    },
    // The README's `kubectl delete namespace` ran last; this also waits for its volumes to go.
    after: fresh,
  });
}
