// The cluster suite's order (jest.config.js, testSequencer), the same on every machine: the
// longest file of each lane first, the file that holds a lock exclusive (tooling/testkit/lock.ts)
// last, and between them jest's own order (failed first, then by its cache of earlier runs).
// Late, an exclusive holder finds the other lane mostly done with what it locks and waits
// little; early, it could hold up its lane for a whole file of the other.
import Sequencer from '@jest/test-sequencer';

const placed = [
  /\/operator\.cluster\.test\.ts$/, // lane own: ~7.5 min
  /\/demo\.cluster\.test\.ts$/, // lane shared: ~6 min
  null, // every other file
  /\/readme-blocks\.cluster\.test\.ts$/, // the CRD, exclusive: step 04's clean-up block deletes it
];
/** Where a file runs in its lane: lower first. */
export const rank = (path) => {
  const at = placed.findIndex((pattern) => pattern?.test(path));
  return at === -1 ? placed.indexOf(null) : at;
};

export default class ClusterSequencer extends Sequencer {
  async sort(tests) {
    const order = await super.sort(tests);
    return [...order].sort((a, b) => rank(a.path) - rank(b.path)); // stable: jest's order within a rank
  }
}
