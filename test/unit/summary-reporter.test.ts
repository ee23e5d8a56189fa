import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('the closing line CI reads', () => {
  it('counts a test file that throws on import as a failure', () => {
    const run = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/reporter/vitest.config.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    expect(run.status).not.toBe(0);
    const line = /^Tests: (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(run.stdout);
    expect(line, run.stdout + run.stderr).not.toBeNull();
    expect(Number(line![1])).toBe(1);
    expect(Number(line![2])).toBeGreaterThanOrEqual(1);
  });
});
