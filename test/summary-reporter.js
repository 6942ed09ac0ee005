/**
 * Ends a jest run with the plain closing line `N passed, N failed` (and `, N skipped` when any
 * were), which tools that read test output understand whatever the runner. Jest prints its own
 * summary after the reporters' onRunComplete, so the line is written when the process exits.
 */
const { writeSync } = require('fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
    process.once('exit', () => writeSync(2, `\n${line}\n`));
  }
}

module.exports = SummaryReporter;
