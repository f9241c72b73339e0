/**
 * The step READMEs' command blocks marked `<!-- test: docker -->` run literally, from the step's
 * folder, on the real Docker engine, and their stated output is checked (tooling/testkit/readme-blocks.ts).
 * The blocks use fixed names and ports (network hits, containers app and redis, port 8080), so
 * this one file runs the READMEs one after another, each from a clean engine and with its own
 * clean-up block last. (`./kit up` uses other names: hits-kit, hits-app, hits-redis.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import {
  KIT_ROOT,
  blocksFor,
  describeReadme,
  docker,
  dockerNames,
  existingDockerNames,
} from '@kit/testkit';

const steps = readdirSync(`${KIT_ROOT}/steps`).sort();

for (const step of steps) {
  const blocks = blocksFor(readFileSync(`${KIT_ROOT}/steps/${step}/README.md`, 'utf8'), 'docker');
  if (blocks.length === 0) continue;
  const names = dockerNames(blocks);
  const cleanup = blocks
    .filter((block) => block.cleanup)
    .map((block) => block.code)
    .join('\n');
  describeReadme(`steps/${step}`, 'docker', KIT_ROOT, {
    // Never remove what a person left (their own run of the README): say what is in the way.
    before: async () => {
      const left = await existingDockerNames(names, docker);
      if (left.length > 0) {
        throw new Error(
          `the README's blocks would collide with: ${left.join(', ')}. Remove them (the README's clean-up: ${cleanup}) and run again`,
        );
      }
    },
    // The README's clean-up block ran as the last test; whatever it missed is removed here (so the
    // next README starts clean) and fails the README.
    after: async () => {
      const left = await existingDockerNames(names, docker);
      for (const thing of left) {
        const [kind, name = ''] = thing.split(' ');
        await docker(
          kind === 'container' ? 'rm' : `${kind}`,
          ...(kind === 'container' ? ['-f', '-v', name] : ['rm', name]),
        ).catch(() => '');
      }
      if (left.length > 0) throw new Error(`the README's clean-up left ${left.join(', ')} behind`);
    },
  });
}
