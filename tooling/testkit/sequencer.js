// The cluster suite's order (jest.config.js, testSequencer), the same on every machine.
// `./kit test` runs three jest processes side by side: the Docker suite (~6 min) and the cluster
// suite's two lanes (~15 min each). So in each lane:
// - the file that holds the CRD lock exclusive (tooling/testkit/lock.ts) first: it is done before
//   the other lane's CRD user, last there, starts, and nobody waits for it;
// - the two load runs that promise an exact replica count, the operator's end-to-end test and the
//   demo, last: by then the Docker suite, whose own load runs would share the 2 cores, is done;
// - between them, jest's own order (failed first, then by its cache of earlier runs).
import Sequencer from '@jest/test-sequencer';

const placed = [
  /\/readme-blocks\.cluster\.test\.ts$/, // lane shared, ~6.5 min: the CRD, exclusive (step 04's clean-up block deletes it)
  null, // every other file
  /\/demo\.cluster\.test\.ts$/, // lane shared: ~6 min, exactly 3 replicas at the peak
  /\/operator\.cluster\.test\.ts$/, // lane own: ~7.5 min, exactly 1 -> 2 -> 3
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
