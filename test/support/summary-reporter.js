// Prints one plain closing line, "N passed, N failed, N skipped", which CI reads in any language.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = results;
    const failedSuites = results.numFailedTestSuites + results.numRuntimeErrorTestSuites;
    const failed = numFailedTests + (numFailedTests === 0 ? failedSuites : 0);
    process.stdout.write(
      `\nherald: ${numPassedTests} passed, ${failed} failed, ${numPendingTests + numTodoTests} skipped\n`,
    );
  }
}
module.exports = SummaryReporter;
