// Prints one plain closing line that any CI can read: "tests: N passed, N failed, N skipped".
// Under ./kit test (KIT_SUMMARY_FILE set) it also adds the counts there, so that the kit's last
// line sums the Docker and the cluster runs.
import { appendFileSync } from 'node:fs';

export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    const broken = results.numRuntimeErrorTestSuites;
    process.stdout.write(`\ntests: ${passed} passed, ${failed + broken} failed, ${skipped} skipped\n`);
    if (process.env.KIT_SUMMARY_FILE) appendFileSync(process.env.KIT_SUMMARY_FILE, `${passed} ${failed + broken} ${skipped}\n`);
  }
}
