// @module-tag needs-node-pty
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

// Issue 15: `ssmx cp`, through Session Manager documents alone, against the emulator's agent —
// which, as the real one, turns a literal EF BF BD in a command's output into EF, so a raw copy
// would be damaged.

const TARGET = 'i-0123456789abcdef0';
const WINDOWS = 'i-0cccccccccccccccc';

/** The default instance, and a Windows one. */
function windowsConfig(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ssmx-cp-config-')), 'emulator.json');
  writeFileSync(file, JSON.stringify({ instances: [{ id: TARGET, name: 'demo' }, { id: WINDOWS, name: 'win-1', platformType: 'Windows', platformName: 'Microsoft Windows Server 2022 Datacenter' }] }));
  return file;
}
let emulator: EmulatorProcess;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--config', windowsConfig()]);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-cp-test-'));
  mkdirSync(join(dir, 'remote'));
  mkdirSync(join(dir, 'local'));
  const setup = await ssmx(['setup']);
  expect(setup.code).toBe(0);
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[]) => runProgram(process.execPath, [ssmxBin, ...args], { env: emulator.env, input: '', timeoutMs: 120_000 });
/** The instance is this machine: its paths are under `dir/remote`. */
const remote = (name: string) => `${TARGET}:${join(dir, 'remote', name)}`;

describe('ssmx cp', () => {
  it('5 MiB of random bytes up and down, whole, the mode kept, nothing on stdout', async () => {
    const data = randomBytes(5 * 1024 * 1024);
    const local = join(dir, 'local', 'random.bin');
    writeFileSync(local, data);
    chmodSync(local, 0o640);
    const up = await ssmx(['cp', local, remote('random.bin')]);
    expect(up.code).toBe(0);
    expect(up.stdout).toBe('');
    expect(readFileSync(join(dir, 'remote', 'random.bin')).equals(data)).toBe(true);
    expect(statSync(join(dir, 'remote', 'random.bin')).mode & 0o777).toBe(0o640);

    mkdirSync(join(dir, 'down'));
    chmodSync(join(dir, 'remote', 'random.bin'), 0o604);
    const down = await ssmx(['cp', remote('random.bin'), join(dir, 'down')]);
    expect(down.code).toBe(0);
    expect(down.stdout).toBe('');
    expect(readFileSync(join(dir, 'down', 'random.bin')).equals(data)).toBe(true);
    expect(statSync(join(dir, 'down', 'random.bin')).mode & 0o777).toBe(0o604);
    // Nothing but the file: no partial left beside it.
    expect(readdirSync(join(dir, 'down'))).toEqual(['random.bin']);
  }, 120_000);

  it('a file full of EF BF BD survives both ways, where the agent damages raw output (ssmx run -- cat)', async () => {
    const data = Buffer.concat(Array.from({ length: 2000 }, (_, i) => Buffer.from([0xef, 0xbf, 0xbd, i & 0xff, 0x0a])));
    const local = join(dir, 'local', 'efbfbd.bin');
    writeFileSync(local, data);
    expect((await ssmx(['cp', local, remote('efbfbd.bin')])).code).toBe(0);
    expect(readFileSync(join(dir, 'remote', 'efbfbd.bin')).equals(data)).toBe(true);
    const back = join(dir, 'local', 'efbfbd.back');
    expect((await ssmx(['cp', remote('efbfbd.bin'), back])).code).toBe(0);
    expect(readFileSync(back).equals(data)).toBe(true);
    // The same bytes as raw command output come back damaged: the agent's processStdoutData.
    const raw = await runProgram(process.execPath, [ssmxBin, 'run', TARGET, '--', 'cat', join(dir, 'remote', 'efbfbd.bin')], { env: emulator.env, input: '' });
    expect(raw.code).toBe(0);
    expect(raw.stdoutBytes.length).toBeLessThan(data.length);
  }, 120_000);

  it('-r copies a directory both ways (tar on both ends)', async () => {
    const tree = join(dir, 'local', 'tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'a.txt'), 'one\n');
    writeFileSync(join(tree, 'sub', 'b.bin'), randomBytes(300_000));
    chmodSync(join(tree, 'sub', 'b.bin'), 0o600);
    expect((await ssmx(['cp', '-r', tree, remote('tree')])).code).toBe(0);
    expect(readFileSync(join(dir, 'remote', 'tree', 'a.txt'), 'utf8')).toBe('one\n');
    expect(readFileSync(join(dir, 'remote', 'tree', 'sub', 'b.bin')).equals(readFileSync(join(tree, 'sub', 'b.bin')))).toBe(true);
    expect(statSync(join(dir, 'remote', 'tree', 'sub', 'b.bin')).mode & 0o777).toBe(0o600);
    const back = join(dir, 'tree-back');
    expect((await ssmx(['cp', '-r', remote('tree'), back])).code).toBe(0);
    expect(readFileSync(join(back, 'sub', 'b.bin')).equals(readFileSync(join(tree, 'sub', 'b.bin')))).toBe(true);
  }, 120_000);

  it('failures: a clear message and status 1, and nothing left under the final name', async () => {
    const missing = await ssmx(['cp', remote('no-such-file'), join(dir, 'local', 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no-such-file: no such file or directory');
    expect(existsSync(join(dir, 'local', 'x'))).toBe(false);

    const directory = await ssmx(['cp', remote('tree'), join(dir, 'local', 'y')]);
    expect(directory.code).toBe(1);
    expect(directory.stderr).toContain('is a directory (give -r to copy a directory)');

    writeFileSync(join(dir, 'local', 'small'), 'small');
    const nowhere = await ssmx(['cp', join(dir, 'local', 'small'), `${TARGET}:${join(dir, 'remote', 'no', 'such', 'dir', 'small')}`]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain(`${join(dir, 'remote', 'no', 'such', 'dir', 'small')}: no such directory on the instance`);

    const neither = await ssmx(['cp', join(dir, 'local', 'small'), join(dir, 'local', 'z')]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('neither end is on an instance');
    // A missing file is a failed copy on either side (1), as for scp; not a usage error.
    const localMissing = await ssmx(['cp', join(dir, 'local', 'absent'), remote('absent')]);
    expect(localMissing.code).toBe(1);
    const windows = await ssmx(['cp', join(dir, 'local', 'small'), `${WINDOWS}:C:\\temp\\small`]);
    expect(windows.code).toBe(2);
    expect(windows.stderr).toContain('does not support Windows instances yet');
  }, 120_000);

  it('on a terminal, a progress bar with bytes and rate on stderr', async () => {
    const local = join(dir, 'local', 'progress.bin');
    writeFileSync(local, randomBytes(3 * 1024 * 1024));
    const term = runInPty(process.execPath, [ssmxBin, 'cp', local, remote('progress.bin')], { env: emulator.env });
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toMatch(/\[#{20}\] 3\.0 MiB \/ 3\.0 MiB +[\d.]+ MB\/s/);
  }, 120_000);

  it('an empty file, and a name with a quote, a space and a $, both ways', async () => {
    for (const [name, data] of [['empty', Buffer.alloc(0)], ["it's a $name", Buffer.from('quoted')]] as const) {
      const local = join(dir, 'local', name);
      writeFileSync(local, data);
      expect((await ssmx(['cp', local, `${TARGET}:${join(dir, 'remote')}/`])).code).toBe(0);
      expect(readFileSync(join(dir, 'remote', name)).equals(data)).toBe(true);
      const back = join(dir, 'local', `${name}.back`);
      expect((await ssmx(['cp', remote(name), back])).code).toBe(0);
      expect(readFileSync(back).equals(data)).toBe(true);
    }
  }, 120_000);
});
