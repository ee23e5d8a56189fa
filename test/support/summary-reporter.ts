import type { Reporter, SerializedError, TestModule } from 'vitest/node';
import { needsLine, requireTools, toolOfTag, toolPath, type ToolName } from './tools.js';

/**
 * Ends the run with the plain line CI reads: "Tests: N passed, N failed, N skipped". A test file
 * that fails to load (it throws on import, a fixture is missing) runs no test, yet the run has
 * failed: it counts as one failure, and so does each error no test owned, so the line never says
 * "0 failed" about a run that vitest itself failed.
 *
 * A test skipped for a missing tool (its file's `needs-<tool>` tag, test/support/tools.ts) is
 * counted under that tool: one line per tool says what to install, and the closing line names them.
 * Under SSMX_REQUIRE_TOOLS=1 such a test counts as failed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError> = []): void {
    let passed = 0;
    let failed = unhandledErrors.length;
    let skipped = 0;
    const forTool = new Map<ToolName, { tests: number; files: Set<string> }>();
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        const missing = state === 'skipped' ? test.tags.map(toolOfTag).filter((name) => name !== undefined && !toolPath(name)) : [];
        for (const name of missing) {
          const counted = forTool.get(name!) ?? { tests: 0, files: new Set<string>() };
          counted.tests++;
          counted.files.add(module.moduleId.split('/').pop()!);
          forTool.set(name!, counted);
        }
        if (state === 'passed') passed++;
        else if (state === 'failed' || (missing.length > 0 && requireTools)) failedHere++;
        else skipped++;
      }
      // A module whose own code failed (its import, a hook outside any test) with no failed test to show for it.
      if (failedHere === 0 && (module.state() === 'failed' || module.errors().length > 0)) failedHere = 1;
      failed += failedHere;
    }
    const verdict = requireTools ? 'failed' : 'skipped';
    for (const [name, { tests, files }] of forTool) {
      process.stdout.write(`${verdict}: ${needsLine(name)} (${tests} test${tests === 1 ? '' : 's'}: ${[...files].sort().join(', ')})\n`);
    }
    const missing = forTool.size > 0 ? ` (missing: ${[...forTool.keys()].join(', ')})` : '';
    process.stdout.write(`\nTests: ${passed} passed, ${failed} failed, ${skipped} skipped${missing}\n`);
  }
}
