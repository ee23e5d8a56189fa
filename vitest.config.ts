import { defineConfig } from 'vitest/config';
import { toolRequirements } from './test/support/tools.ts';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn real processes and PTYs; two cores are all CI has.
    maxWorkers: 2,
    // The SDK clients tests create in-process would print its notice about Node 20 on every file.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', './test/support/summary-reporter.ts'],
    // A file's `// @module-tag needs-sshd` lines say what it drives beyond Node (test/support/tools.ts):
    // skipped where that is missing, failed there under SSMX_REQUIRE_TOOLS=1.
    ...toolRequirements(),
  },
});
