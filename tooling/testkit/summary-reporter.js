// Prints one plain closing line that any CI can read: "tests: N passed, N failed, N skipped",
// preceded by one line per failed test (file, test name, the first line of its error), so that
// the tail of a CI log says what failed even when the log is cut to its last lines.
// Under ./kit test (KIT_SUMMARY_FILE set) it also adds the counts and those lines there, so that
// the kit's last lines sum the Docker and the cluster runs and repeat every failure.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';

// eslint-disable-next-line no-control-regex
const plain = (text) => text.replace(/\u001b\[[0-9;]*m/g, '');
const firstLine = (text) =>
  plain(text)
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line !== '') ?? '';

/** One line per failed test, and per test file that could not run at all. */
export function failureLines(results, root = process.cwd()) {
  const lines = [];
  for (const file of results.testResults) {
    const path = relative(root, file.testFilePath);
    if (file.testExecError)
      lines.push(
        `failed: ${path}: ${firstLine(file.testExecError.message ?? String(file.testExecError))}`,
      );
    for (const test of file.testResults) {
      if (test.status === 'failed')
        lines.push(
          `failed: ${path} › ${test.fullName}: ${firstLine(test.failureMessages[0] ?? '')}`,
        );
    }
  }
  return lines;
}

export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests: passed, numFailedTests: failed, numPendingTests: skipped } = results;
    const broken = results.numRuntimeErrorTestSuites;
    const failures = failureLines(results);
    process.stdout.write(
      `\n${failures.map((line) => `${line}\n`).join('')}tests: ${passed} passed, ${failed + broken} failed, ${skipped} skipped\n`,
    );
    if (process.env.KIT_SUMMARY_FILE)
      appendFileSync(
        process.env.KIT_SUMMARY_FILE,
        `${failures.map((line) => `${line}\n`).join('')}${passed} ${failed + broken} ${skipped}\n`,
      );
  }
}
