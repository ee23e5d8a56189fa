import type { Reporter, SerializedError, TestModule } from 'vitest/node';

/**
 * Ends the run with the plain line CI reads: "Tests: N passed, N failed, N skipped". A test file
 * that fails to load (it throws on import, a fixture is missing) runs no test, yet the run has
 * failed: it counts as one failure, and so does each error no test owned, so the line never says
 * "0 failed" about a run that vitest itself failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failedHere++;
        else skipped++;
      }
      // A module whose own code failed (its import, a hook outside any test) with no failed test to show for it.
      if (failedHere === 0 && (module.state() === 'failed' || module.errors().length > 0)) failedHere = 1;
      failed += failedHere;
    }
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
