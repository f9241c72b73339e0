// One jest project per step (tests live in steps/<step>/test), plus the kit's own tests.
// Two suites: KIT_SUITE=docker (default) runs *.test.ts on the Docker engine; KIT_SUITE=cluster
// runs *.cluster.test.ts on a Kubernetes cluster. `./kit test` runs both, in that order.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

const cluster = process.env.KIT_SUITE === 'cluster';

const project = (name, dir) => ({
  displayName: name,
  rootDir: `${root}${dir}`,
  testMatch: [cluster ? '<rootDir>/test/**/*.cluster.test.ts' : '<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: cluster ? [] : ['\\.cluster\\.test\\.ts$'],
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
  // The cluster test files share the namespaces hits and monitoring and the LatencyScaler CRD:
  // one file at a time on any machine (jest would otherwise run cores - 1 of them at once).
  ...(cluster ? { maxWorkers: 1 } : {}),
};
