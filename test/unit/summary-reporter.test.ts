import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

describe('tests that need a tool this machine lacks (test/support/tools.ts)', () => {
  // sshd is made absent: an empty PATH, and SSMX_TEST_PATH_ONLY=1 so that /usr/sbin/sshd is not looked at.
  const run = (extra: NodeJS.ProcessEnv) => {
    const empty = mkdtempSync(join(tmpdir(), 'ssmx-empty-path-'));
    return spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/tools/vitest.config.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true', NO_COLOR: '1', PATH: empty, SSMX_TEST_PATH_ONLY: '1', SSMX_REQUIRE_TOOLS: '', ...extra },
      timeout: 60_000,
    });
  };

  it('are skipped, without their hooks, with one line naming the package; the closing line names the tool', () => {
    const ran = run({});
    expect(ran.status, ran.stdout + ran.stderr).toBe(0);
    expect(ran.stdout).toContain('skipped: needs sshd — apt-get install openssh-server (2 tests: needs-sshd.fixture.ts)\n');
    expect(ran.stdout).toMatch(/^Tests: 1 passed, 0 failed, 2 skipped \(missing: sshd\)$/m);
    expect(ran.stdout + ran.stderr).not.toContain('hook of a file whose tool is missing ran');
  });

  it('fail under SSMX_REQUIRE_TOOLS=1, as .ci/run sets it', () => {
    const ran = run({ SSMX_REQUIRE_TOOLS: '1' });
    expect(ran.status).not.toBe(0);
    expect(ran.stdout).toContain('failed: needs sshd — apt-get install openssh-server (2 tests: needs-sshd.fixture.ts)\n');
    expect(ran.stdout).toMatch(/^Tests: 1 passed, 2 failed, 0 skipped \(missing: sshd\)$/m);
    expect(ran.stdout + ran.stderr).toContain('SSMX_REQUIRE_TOOLS=1 and this file needs sshd — apt-get install openssh-server');
    expect(ran.stdout + ran.stderr).not.toContain('hook of a file whose tool is missing ran');
  });
});
