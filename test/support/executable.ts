import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './emulator.js';

/**
 * Builds ssmx's standalone executable for a target with the project's own script (npm run dist),
 * into a new folder, and returns its path. The pinned Node comes from npm's registry once and is
 * kept in node_modules/.cache; dist/ must be built (npm test's pretest does it).
 */
export async function buildExecutable(target: 'linux-x64' | 'linux-arm64' | 'win-x64', options: { deb?: boolean } = {}): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), `ssmx-dist-${target}-`));
  const args = [join(repoRoot, 'scripts/dist.mjs'), '--target', target, '--out', out, '--work', join(out, 'work'), ...(options.deb ? ['--deb'] : [])];
  await promisify(execFile)(process.execPath, args, { cwd: repoRoot, maxBuffer: 16 << 20 });
  return join(out, `ssmx-${target}${target.startsWith('win') ? '.exe' : ''}`);
}
