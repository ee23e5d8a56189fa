/**
 * `ssmx cp` up and down with 1 and 4 sessions, beside scp through `ssmx proxy` to a real sshd on
 * the same emulator (what a user without ssmx cp would do): MB/s each way, every copy checked.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSshd } from '../test/support/sshd.js';

export interface CopyRow {
  tool: string;
  upload: number;
  download: number;
}

const TARGET = 'i-0123456789abcdef0';

function timed(command: string, args: string[], env: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e9) : reject(new Error(`${command} ${args.join(' ')}: ${code} ${stderr}`))));
  });
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

export async function measureCopy(ssmx: string, env: Record<string, string>, bytes: number): Promise<CopyRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-bench-cp-'));
  const original = join(dir, 'original.bin');
  writeFileSync(original, randomBytes(bytes));
  const want = sha(original);
  execFileSync(process.execPath, [ssmx, 'setup'], { env, stdio: 'ignore' });
  const rows: CopyRow[] = [];
  const check = (path: string) => {
    if (sha(path) !== want) throw new Error(`${path} differs from the original`);
    rmSync(path);
  };
  try {
    for (const sessions of [1, 4]) {
      const remote = join(dir, `remote-${sessions}.bin`);
      const back = join(dir, `back-${sessions}.bin`);
      const up = await timed(process.execPath, [ssmx, 'cp', '--sessions', String(sessions), original, `${TARGET}:${remote}`], env);
      const down = await timed(process.execPath, [ssmx, 'cp', '--sessions', String(sessions), `${TARGET}:${remote}`, back], env);
      check(remote);
      check(back);
      rows.push({ tool: `ssmx cp --sessions ${sessions}`, upload: bytes / up / 1e6, download: bytes / down / 1e6 });
    }
    const sshd = await startSshd();
    try {
      const proxy = `${process.execPath} ${ssmx} proxy %h %p`;
      const scp = (from: string, to: string) => timed('scp', ['-q', '-o', `ProxyCommand=${proxy}`, ...sshd.clientOptions, '-P', String(sshd.port), from, to], env);
      const remote = join(dir, 'remote-scp.bin');
      const back = join(dir, 'back-scp.bin');
      const up = await scp(original, `${sshd.user}@${TARGET}:${remote}`);
      const down = await scp(`${sshd.user}@${TARGET}:${remote}`, back);
      check(remote);
      check(back);
      rows.push({ tool: 'scp through ssmx proxy (sshd, keys)', upload: bytes / up / 1e6, download: bytes / down / 1e6 });
    } finally {
      await sshd.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
