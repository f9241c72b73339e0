// One jest project per step (tests live in steps/<step>/test), plus the kit's own tests.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

const project = (name, dir) => ({
  displayName: name,
  rootDir: `${root}${dir}`,
  testMatch: ['<rootDir>/test/**/*.test.ts'],
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
  testTimeout: 120_000,
};
