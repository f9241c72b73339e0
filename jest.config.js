// One jest project per step (tests live in steps/<step>/test), plus the kit's own tests.
// Two suites: KIT_SUITE=docker (default) runs *.test.ts on the Docker engine; KIT_SUITE=cluster
// runs *.cluster.test.ts on a Kubernetes cluster. `./kit test` runs both, in that order.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

const cluster = process.env.KIT_SUITE === 'cluster';

// The cluster suite runs in two lanes, two jest processes side by side (./kit test: KIT_LANE),
// each one file at a time. Most cluster test files deploy what `./kit up --cluster` and the
// READMEs deploy: the namespaces hits and monitoring, the NodePorts 30080/30090, the host's
// 8080/9090. They share lane "shared". The files below use namespaces of their own, NodePorts of
// the tests' range (tooling/cluster/kind.yaml) and no Ingress (Traefik, in the ingress test,
// serves every Ingress of the cluster): lane "own". One cluster-wide thing remains that files
// of both lanes touch, the LatencyScaler CRD, under a lock (tooling/testkit/lock.ts). Without
// KIT_LANE, all files run one at a time.
const ownLane = [
  'steps/00-broken-app/test/broken-app',
  'steps/01-logging-fixed/test/logging-fixed',
  'steps/02-pid1-fixed/test/pid1-fixed',
  'steps/03-metrics/test/metrics',
  'steps/04-operator/test/operator',
  'tooling/test/hpa',
].map((file) => `/${file}\\.cluster\\.test\\.ts$`);
const lane = process.env.KIT_LANE ?? '';
if (!['', 'shared', 'own'].includes(lane))
  throw new Error(
    `KIT_LANE=${lane}: use shared or own (or leave it unset: every file, one at a time)`,
  );
const laneIgnore = !cluster
  ? []
  : lane === 'shared'
    ? ownLane
    : lane === 'own'
      ? [`^(?!.*(${ownLane.join('|')}))`]
      : [];

const project = (name, dir) => ({
  displayName: name,
  rootDir: `${root}${dir}`,
  testMatch: [cluster ? '<rootDir>/test/**/*.cluster.test.ts' : '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: cluster ? laneIgnore : ['\\.cluster\\.test\\.ts$'],
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: `${root}tsconfig.json` }] },
  moduleNameMapper: {
    '^@kit/testkit$': `${root}tooling/testkit/index.ts`,
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
});

const steps = readdirSync(`${root}steps`).filter((step) => existsSync(`${root}steps/${step}/test`));

export default {
  projects: [...steps.map((step) => project(step, `steps/${step}`)), project('kit', 'tooling')],
  reporters: ['default', `${root}tooling/testkit/summary-reporter.js`],
  testTimeout: cluster ? 300_000 : 120_000,
  // One file at a time in each lane of the cluster suite, on any machine (jest would otherwise run
  // cores - 1 of them at once); the files that hold a lock exclusive last (sequencer.js).
  ...(cluster ? { maxWorkers: 1, testSequencer: `${root}tooling/testkit/sequencer.js` } : {}),
};
