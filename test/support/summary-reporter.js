/**
 * Prints the run's totals as one plain closing line, `jest: N passed, N failed, N skipped`, the form
 * CI reads in any language (Jest's own summary is not one of the formats CI recognises). Written at
 * exit so that it is the last line of the run, after Jest's summary.
 */
export default class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed, ${skipped} skipped\n`;
    process.once('exit', () => process.stdout.write(`\n${line}`));
  }
}
