import { beforeAll } from 'vitest';
import { needsLine, requireTools, toolOfTag, toolPath } from './tools.js';

// Every test file's first hook (vitest.config.ts's setupFiles). Under SSMX_REQUIRE_TOOLS=1 a file
// whose `needs-<tool>` tag names a missing tool fails here, before its own hooks would start what is
// not there; without it, vitest's tags have skipped the whole file and no hook runs.
beforeAll(({}, file) => {
  if (!requireTools) return;
  const missing = (file.tags ?? []).map(toolOfTag).filter((name) => name !== undefined && !toolPath(name));
  if (missing.length > 0) throw new Error(`SSMX_REQUIRE_TOOLS=1 and this file ${missing.map((name) => needsLine(name!)).join('; ')}`);
});
