// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// The package as users install it on a machine without a compiler: `npm install -g
// --ignore-scripts` of what `npm pack` makes, so node-pty (optional, native) is never built.

let emulator: EmulatorProcess;
let ssmx: string;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  // dist/ is built already (npm test's pretest): packing with scripts would rebuild it under the
  // other test files' feet.
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-install-'));
  execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = readdirSync(dir).find((name) => name.endsWith('.tgz'))!;
  const prefix = join(dir, 'prefix');
  // From npm's cache where it can: the registry is reached only for what the cache lacks.
  execFileSync('npm', ['install', '-g', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--prefix', prefix, join(dir, tarball)], { stdio: ['ignore', 'pipe', 'pipe'] });
  ssmx = join(prefix, 'bin', 'ssmx');
}, 240_000);
afterAll(async () => {
  await emulator?.stop();
});

describe('installed with --ignore-scripts, no compiler', () => {
  it('every command but the emulator works: --version, list, run', async () => {
    const version = await runProgram(ssmx, ['--version'], { env: emulator.env });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect(version.code).toBe(0);
    const list = await runProgram(ssmx, ['list', '--json'], { env: emulator.env });
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: 'i-0123456789abcdef0' })]);
    const run = await runProgram(ssmx, ['run', 'demo', '--', 'echo installed-$((6*7))'], { env: emulator.env });
    expect(run.stdout).toContain('installed-42');
  });

  it('the emulator says in one line what to install', async () => {
    const result = await runProgram(ssmx, ['emulator', '--port', '0'], { env: emulator.env, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('ssmx: error: the emulator needs the optional package node-pty for its shells, and it is not installed here: npm install -g node-pty (it compiles with a C++ toolchain)\n');
  });
});
