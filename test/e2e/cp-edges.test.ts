// @module-tag needs-node-pty
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, watch, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSessionsCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesNaming, ssmClientFor, startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram, type Ran } from '../support/run.js';

// Issue 28, points 5 to 10: `ssmx cp` as dependable as scp — a full disk, modes, Ctrl-C, a file
// that grows, what is not a regular file, and errors that say what happened. The emulated instance
// is this machine: its paths are under `dir/remote`, its processes are this machine's.

const TARGET = 'i-0123456789abcdef0';
const asRoot = process.getuid?.() === 0;
/** The umask the emulator's commands run under: the one this process (and so the emulator) has. */
const umask = parseInt(execFileSync('sh', ['-c', 'umask'], { encoding: 'utf8' }).trim(), 8);

let emulator: EmulatorProcess;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  dir = mkdtempSync(join(tmpdir(), 'ssmx-cp-edges-'));
  mkdirSync(join(dir, 'remote'));
  mkdirSync(join(dir, 'local'));
  expect((await ssmx(['setup'])).code).toBe(0);
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[], on: EmulatorProcess = emulator) => runProgram(process.execPath, [ssmxBin, ...args], { env: on.env, input: '', timeoutMs: 120_000 });
/** ssmx under a shell's setting first (`umask 077`). */
const ssmxAfter = (setting: string, args: string[]) =>
  runProgram('sh', ['-c', `${setting} && exec "$@"`, 'sh', process.execPath, ssmxBin, ...args], { env: emulator.env, input: '', timeoutMs: 120_000 });
const remote = (name: string) => `${TARGET}:${join(dir, 'remote', name)}`;
const local = (name: string) => join(dir, 'local', name);
const modeOf = (path: string) => statSync(path).mode & 0o7777;
/** What a person reads: the error lines, without the hint. */
const said = (ran: Ran) => ran.stderr.trim();

async function activeSessions(on: EmulatorProcess = emulator): Promise<string[]> {
  const ssm = ssmClientFor(on);
  const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }));
  ssm.destroy();
  return (active.Sessions ?? []).map((session) => session.SessionId!);
}


/**
 * Stops (SIGSTOP) or resumes (SIGCONT) the instance's processes whose command line names `text`
 * and all their descendants: a copy's remote side held still, so what ssmx has read ahead of it is
 * bounded by the data channel's flow control, not by how quickly this test process gets its turn.
 */
function signalInstance(text: string, signal: 'SIGSTOP' | 'SIGCONT'): number {
  const parents = new Map<number, number>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      parents.set(Number(pid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = new Set(processesNaming(text).map((line) => Number(line.split(':')[0])));
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  for (const pid of tree) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
  return tree.size;
}

/** The instance's processes end after their session does: waited for, within a bound. */
async function noProcessesNaming(text: string): Promise<string[]> {
  const deadline = Date.now() + 10_000;
  while (processesNaming(text).length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  return processesNaming(text);
}

/** Resolves once a file in `folder` whose name starts with `prefix` holds `bytes` or more (inotify, not a poll). */
function fileGrows(folder: string, prefix: string, bytes: number, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      for (const name of readdirSync(folder)) {
        if (!name.startsWith(prefix)) continue;
        try {
          if (statSync(join(folder, name)).size >= bytes) return true;
        } catch {
          // removed meanwhile
        }
      }
      return false;
    };
    const watcher = watch(folder, () => {
      if (!check()) return;
      finish();
      resolve();
    });
    const timer = setTimeout(() => {
      finish();
      reject(new Error(`no ${prefix}* of ${bytes} bytes in ${folder} within ${ms} ms`));
    }, ms);
    const finish = () => {
      clearTimeout(timer);
      watcher.close();
    };
    if (check()) {
      finish();
      resolve();
    }
  });
}

/** `ssmx cp` started, interrupted with SIGINT once `ready` resolves; its exit status and stderr. */
async function interrupted(args: string[], ready: () => Promise<void>, env: NodeJS.ProcessEnv = emulator.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [ssmxBin, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  await Promise.race([ready(), exited.then(() => Promise.reject(new Error(`ssmx ended before it was interrupted: ${stderr}`)))]);
  child.kill('SIGINT');
  return { code: await exited, stderr };
}

const leftoversIn = (folder: string) => readdirSync(folder).filter((name) => name.startsWith('.ssmx-cp.') || name.includes('ssmx-partial'));

describe('modes, as scp and cp set them', () => {
  it('a download through a symlink on the instance gets the file’s mode, not the link’s 0777', async () => {
    writeFileSync(join(dir, 'remote', 'secret'), 'secret\n', { mode: 0o600 });
    chmodSync(join(dir, 'remote', 'secret'), 0o600);
    symlinkSync('secret', join(dir, 'remote', 'secret-link'));
    const down = await ssmx(['cp', remote('secret-link'), local('secret-copy')]);
    expect(said(down)).toBe('');
    expect(down.code).toBe(0);
    expect(readFileSync(local('secret-copy'), 'utf8')).toBe('secret\n');
    expect(modeOf(local('secret-copy'))).toBe(0o600);
  }, 60_000);

  it('a new file gets the source’s permission bits less the receiving side’s umask; setuid and setgid are dropped', async () => {
    writeFileSync(local('suid'), '#!/bin/sh\n');
    chmodSync(local('suid'), 0o4755);
    const up = await ssmx(['cp', local('suid'), remote('suid')]);
    expect(up.code).toBe(0);
    expect(modeOf(join(dir, 'remote', 'suid'))).toBe(0o755 & ~umask);

    writeFileSync(join(dir, 'remote', 'sgid'), 'x');
    chmodSync(join(dir, 'remote', 'sgid'), 0o2755);
    writeFileSync(join(dir, 'remote', 'open'), 'x');
    chmodSync(join(dir, 'remote', 'open'), 0o666);
    // umask 077 on this side, as `scp` and `cp` under it give 0600 and 0700.
    for (const [name, mode] of [['sgid', 0o700], ['open', 0o600]] as const) {
      const down = await ssmxAfter('umask 077', ['cp', remote(name), local(`${name}-077`)]);
      expect(down.code).toBe(0);
      expect(modeOf(local(`${name}-077`))).toBe(mode);
    }
    const plain = await ssmx(['cp', remote('open'), local('open-plain')]);
    expect(plain.code).toBe(0);
    expect(modeOf(local('open-plain'))).toBe(0o666 & ~umask);
  }, 60_000);

  it('a file that is replaced keeps its own mode, both ways (scp, cp)', async () => {
    writeFileSync(local('source'), 'new contents');
    chmodSync(local('source'), 0o644);
    writeFileSync(join(dir, 'remote', 'kept'), 'old');
    chmodSync(join(dir, 'remote', 'kept'), 0o600);
    expect((await ssmx(['cp', local('source'), remote('kept')])).code).toBe(0);
    expect(readFileSync(join(dir, 'remote', 'kept'), 'utf8')).toBe('new contents');
    expect(modeOf(join(dir, 'remote', 'kept'))).toBe(0o600);

    writeFileSync(local('kept'), 'old');
    chmodSync(local('kept'), 0o640);
    expect((await ssmx(['cp', remote('kept'), local('kept')])).code).toBe(0);
    expect(readFileSync(local('kept'), 'utf8')).toBe('new contents');
    expect(modeOf(local('kept'))).toBe(0o640);
  }, 60_000);

  it('-r: every file and directory of the tree takes the receiving umask, setuid dropped, owned by who copies', async () => {
    const tree = local('modes-tree');
    mkdirSync(join(tree, 'sub'), { recursive: true });
    writeFileSync(join(tree, 'sub', 'tool'), 'x');
    chmodSync(join(tree, 'sub', 'tool'), 0o4755);
    writeFileSync(join(tree, 'shared'), 'y');
    chmodSync(join(tree, 'shared'), 0o666);
    if (asRoot) chownSync(join(tree, 'shared'), 1234, 1234);
    expect((await ssmx(['cp', '-r', tree, remote('modes-tree')])).code).toBe(0);
    expect(modeOf(join(dir, 'remote', 'modes-tree', 'sub', 'tool'))).toBe(0o755 & ~umask);
    expect(modeOf(join(dir, 'remote', 'modes-tree', 'shared'))).toBe(0o666 & ~umask);
    expect(statSync(join(dir, 'remote', 'modes-tree', 'shared')).uid).toBe(process.getuid!());

    const down = await ssmxAfter('umask 077', ['cp', '-r', remote('modes-tree'), local('modes-back')]);
    expect(down.code).toBe(0);
    expect(modeOf(local('modes-back'))).toBe(0o700);
    expect(modeOf(join(local('modes-back'), 'sub', 'tool'))).toBe(0o700);
    expect(modeOf(join(local('modes-back'), 'shared'))).toBe(0o600);
  }, 60_000);
});

describe('a file that grows while it is copied (a log)', () => {
  /** Appends a line every few milliseconds until stopped: a busy log. */
  function grow(path: string): () => void {
    let n = 0;
    const timer = setInterval(() => appendFileSync(path, `${String(n++).padStart(8, '0')} ${'x'.repeat(4000)}\n`), 2);
    return () => clearInterval(timer);
  }

  for (const direction of ['upload', 'download'] as const) {
    it(`${direction}: the bytes it had when the copy started, whole and checked, however much is added meanwhile`, async () => {
      const from = direction === 'upload' ? local('growing.log') : join(dir, 'remote', 'growing.log');
      const to = direction === 'upload' ? join(dir, 'remote', 'growing.copy') : local('growing.copy');
      writeFileSync(from, randomBytes(1024 * 1024));
      const before = statSync(from).size;
      const stop = grow(from);
      const ran = await ssmx(['cp', direction === 'upload' ? from : remote('growing.log'), direction === 'upload' ? remote('growing.copy') : to]).finally(stop);
      expect(said(ran)).toBe('');
      expect(ran.code).toBe(0);
      const copy = readFileSync(to);
      const grown = readFileSync(from);
      expect(copy.length).toBeGreaterThanOrEqual(before);
      // It did grow while copied, and the copy is what the file began with.
      expect(grown.length).toBeGreaterThan(copy.length);
      expect(grown.subarray(0, copy.length).equals(copy)).toBe(true);
    }, 60_000);
  }
});

describe('a file cut short while it is copied', () => {
  for (const direction of ['upload', 'download'] as const) {
    it(`${direction}: said as such, status 1, nothing left on either side (the instance does not wait for ever)`, async () => {
      const from = direction === 'upload' ? local('cut.bin') : join(dir, 'remote', 'cut.bin');
      writeFileSync(from, randomBytes(16 * 1024 * 1024));
      const into = direction === 'upload' ? join(dir, 'remote', 'cut-into') : local('cut-into');
      mkdirSync(into);
      const child = spawn(process.execPath, [ssmxBin, 'cp', direction === 'upload' ? from : remote('cut.bin'), direction === 'upload' ? `${TARGET}:${into}/` : `${into}/`], { env: emulator.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      await fileGrows(into, '.', 256 * 1024);
      // The copy is under way: its instance side held still while the file is cut, so the copy
      // cannot have finished first however late this process gets its turn (CI under load).
      const named = direction === 'upload' ? into : from;
      expect(signalInstance(named, 'SIGSTOP')).toBeGreaterThan(0);
      truncateSync(from, 1024);
      signalInstance(named, 'SIGCONT');
      expect(await exited).toBe(1);
      expect(stderr).toMatch(direction === 'upload' ? /cut\.bin: became shorter while it was copied; nothing was written/ : /cut\.bin: became shorter on the instance while it was copied/);
      expect(readdirSync(into)).toEqual([]);
      expect(await activeSessions()).toEqual([]);
    }, 120_000);
  }
});

describe('what is not a regular file', () => {
  it('/dev/zero and a FIFO are refused at once, as scp refuses them, before any session', async () => {
    const fifo = local('fifo');
    execFileSync('mkfifo', [fifo]);
    for (const source of ['/dev/zero', fifo]) {
      const up = await runProgram(process.execPath, [ssmxBin, '--debug', 'cp', source, remote('never')], { env: emulator.env, input: '', timeoutMs: 20_000 });
      expect(up.code).toBe(1);
      expect(up.stderr).toContain(`${source}: not a regular file`);
      expect(up.stderr).not.toContain('StartSession');
    }
    expect(existsSync(join(dir, 'remote', 'never'))).toBe(false);
  }, 60_000);

  it('on the instance, /dev/zero and a FIFO are refused the same way', async () => {
    execFileSync('mkfifo', [join(dir, 'remote', 'fifo')]);
    for (const source of ['/dev/zero', join(dir, 'remote', 'fifo')]) {
      const down = await runProgram(process.execPath, [ssmxBin, 'cp', `${TARGET}:${source}`, local('never')], { env: emulator.env, input: '', timeoutMs: 20_000 });
      expect(down.code).toBe(1);
      expect(said(down)).toContain(`${source}: not a regular file`);
    }
    expect(existsSync(local('never'))).toBe(false);
  }, 60_000);

  it('a file of /proc (its size says 0) is copied whole both ways, as scp copies it', async () => {
    const version = readFileSync('/proc/version');
    expect((await ssmx(['cp', '/proc/version', remote('version')])).code).toBe(0);
    expect(readFileSync(join(dir, 'remote', 'version')).equals(version)).toBe(true);
    expect((await ssmx(['cp', `${TARGET}:/proc/version`, local('version')])).code).toBe(0);
    expect(readFileSync(local('version')).equals(version)).toBe(true);
  }, 60_000);

  it('a local destination that is a FIFO is refused, not replaced by a file', async () => {
    writeFileSync(join(dir, 'remote', 'small'), 'small');
    const fifo = local('fifo-destination');
    execFileSync('mkfifo', [fifo]);
    const down = await ssmx(['cp', remote('small'), fifo]);
    expect(down.code).toBe(1);
    expect(said(down)).toContain(`${fifo}: not a regular file`);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
  }, 60_000);
});

describe('errors that say what happened', () => {
  it('an unreadable file of /proc on the instance is a read error (status 1), not a protocol error', async () => {
    const down = await ssmx(['cp', `${TARGET}:/proc/1/mem`, local('mem')]);
    expect(down.code).toBe(1);
    expect(said(down)).toMatch(/\/proc\/1\/mem: (could not be read on the instance: (Input\/output error|Permission denied)|permission denied)$/);
    expect(existsSync(local('mem'))).toBe(false);
  }, 60_000);

  it('a local destination `dir/` that does not exist is said before anything is copied', async () => {
    writeFileSync(join(dir, 'remote', 'small'), 'small');
    const down = await ssmx(['--debug', 'cp', remote('small'), `${local('no-such-dir')}/`]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`${local('no-such-dir')}/: no such directory`);
    expect(down.stderr).not.toContain('StartSession');
    expect(readdirSync(join(dir, 'local')).filter((name) => name.includes('no-such-dir'))).toEqual([]);
  }, 60_000);

  it('a missing or read-only directory on the instance is said as such, nothing sent', async () => {
    writeFileSync(local('small'), 'small');
    for (const destination of [join(dir, 'remote', 'nowhere') + '/', join(dir, 'remote', 'nowhere', 'small')]) {
      const up = await ssmx(['cp', local('small'), `${TARGET}:${destination}`]);
      expect(up.code).toBe(1);
      expect(said(up)).toContain(`${destination}: no such directory on the instance`);
      expect(said(up)).not.toContain('mktemp');
    }
    const readOnly = join(dir, 'remote', 'read-only');
    mkdirSync(readOnly);
    if (asRoot) execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', readOnly]);
    else chmodSync(readOnly, 0o555);
    try {
      const up = await ssmx(['cp', local('small'), `${TARGET}:${readOnly}/`]);
      expect(up.code).toBe(1);
      expect(said(up)).toMatch(new RegExp(`${readOnly}/small: cannot be written on the instance: .*(Read-only file system|Permission denied)`));
      expect(said(up)).not.toContain('mktemp');
    } finally {
      if (asRoot) execFileSync('umount', [readOnly]);
    }
  }, 60_000);

  it('`~/` and a relative path on the instance are in the home directory, as scp takes them', async () => {
    const name = `ssmx-cp-home-${randomBytes(4).toString('hex')}`;
    writeFileSync(local(name), 'at home');
    try {
      const up = await ssmx(['cp', local(name), `${TARGET}:~/`]);
      expect(said(up)).toBe('');
      expect(readFileSync(join(homedir(), name), 'utf8')).toBe('at home');
      for (const path of [`~/${name}`, name]) {
        const down = await ssmx(['cp', `${TARGET}:${path}`, local(`${name}.back`)]);
        expect(said(down)).toBe('');
        expect(readFileSync(local(`${name}.back`), 'utf8')).toBe('at home');
        rmSync(local(`${name}.back`));
      }
    } finally {
      rmSync(join(homedir(), name), { force: true });
    }
  }, 60_000);

  it('failures of the same kind have the same status on either side (1), as scp and the README say', async () => {
    const missingHere = await ssmx(['cp', local('absent'), remote('absent')]);
    const missingThere = await ssmx(['cp', remote('absent'), local('absent')]);
    expect([missingHere.code, missingThere.code]).toEqual([1, 1]);
    expect(said(missingHere)).toContain(`${local('absent')}: no such file or directory`);
    expect(said(missingThere)).toContain(`${join(dir, 'remote', 'absent')}: no such file or directory`);
    mkdirSync(join(dir, 'remote', 'a-directory'), { recursive: true });
    const directoryHere = await ssmx(['cp', join(dir, 'remote', 'a-directory'), remote('x')]);
    const directoryThere = await ssmx(['cp', remote('a-directory'), local('x')]);
    expect([directoryHere.code, directoryThere.code]).toEqual([1, 1]);
    expect(said(directoryHere)).toContain('is a directory');
    expect(said(directoryThere)).toContain('is a directory');
  }, 60_000);

  it('`cp -r FILE` copies the file, both ways, as cp and scp accept it', async () => {
    writeFileSync(local('plain'), 'plain file');
    const up = await ssmx(['cp', '-r', local('plain'), remote('plain-r')]);
    expect(said(up)).toBe('');
    expect(readFileSync(join(dir, 'remote', 'plain-r'), 'utf8')).toBe('plain file');
    const down = await ssmx(['cp', '-r', remote('plain-r'), local('plain-r')]);
    expect(said(down)).toBe('');
    expect(readFileSync(local('plain-r'), 'utf8')).toBe('plain file');
  }, 60_000);
});

describe('nothing left behind', () => {
  it('a full local disk: one line, status 1, no partial file, no session, no command left on the instance', async () => {
    const big = join(dir, 'remote', 'eight-mib');
    writeFileSync(big, randomBytes(8 * 1024 * 1024));
    const disk = mkdtempSync(join(tmpdir(), 'ssmx-cp-full-'));
    // A 4 MiB tmpfs of its own, in a mount namespace of ssmx's own: a real ENOSPC, for ssmx only.
    const script = 'mount -t tmpfs -o size=4m tmpfs "$1" || exit 99; d=$1; shift; "$@"; s=$?; echo "left: [$(ls -A "$d")]" >&2; exit $s';
    const ran = await runProgram('unshare', ['-rm', 'sh', '-c', script, 'sh', disk, process.execPath, ssmxBin, 'cp', `${TARGET}:${big}`, `${disk}/`], { env: emulator.env, input: '', timeoutMs: 120_000 });
    expect(ran.code).toBe(1);
    const lines = ran.stderr.trim().split('\n');
    expect(lines.at(-1)).toBe('left: []');
    expect(lines.slice(0, -1)).toEqual([`ssmx: error: ${disk}/eight-mib: no space left on this machine's disk (ENOSPC); nothing was written`]);
    expect(await activeSessions()).toEqual([]);
    expect(await noProcessesNaming(big)).toEqual([]);
  }, 120_000);

  for (const direction of ['upload', 'download'] as const) {
    it(`Ctrl-C during ${direction === 'upload' ? 'an upload' : 'a download'}: status 130, nothing left on either side under any name, no session, no command`, async () => {
      const source = direction === 'upload' ? local('ctrl-c-up') : join(dir, 'remote', 'ctrl-c-down');
      writeFileSync(source, randomBytes((direction === 'upload' ? 16 : 32) * 1024 * 1024));
      const into = direction === 'upload' ? join(dir, 'remote', 'ctrl-c-up-into') : local('ctrl-c-down-into');
      mkdirSync(into);
      const args = direction === 'upload' ? ['cp', source, `${TARGET}:${into}/`] : ['cp', `${TARGET}:${source}`, `${into}/`];
      // Interrupted once its bytes are arriving: the parts on the instance, the partial file here.
      const stopped = await interrupted(args, () => fileGrows(into, '.', direction === 'upload' ? 256 * 1024 : 1024 * 1024));
      expect(stopped.code).toBe(130);
      expect(readdirSync(into)).toEqual([]);
      expect(await activeSessions()).toEqual([]);
      expect(await noProcessesNaming(direction === 'upload' ? into : source)).toEqual([]);
    }, 120_000);
  }

  it('Ctrl-C during -r, either way: the tar files on both sides are gone too', async () => {
    const tree = local('ctrl-c-tree');
    mkdirSync(tree);
    writeFileSync(join(tree, 'big'), randomBytes(16 * 1024 * 1024));
    const temporary = mkdtempSync(join(tmpdir(), 'ssmx-cp-tmp-'));
    const into = join(dir, 'remote', 'ctrl-c-tree-into');
    mkdirSync(into);
    const up = await interrupted(['cp', '-r', tree, `${TARGET}:${into}/`], () => fileGrows(into, '.ssmx-cp.', 256 * 1024), { ...emulator.env, TMPDIR: temporary });
    expect(up.code).toBe(130);
    expect(readdirSync(into)).toEqual([]);
    expect(readdirSync(temporary)).toEqual([]);

    // The instance packs the tree into its temporary directory (this machine's) first.
    mkdirSync(join(dir, 'remote', 'ctrl-c-tree'));
    writeFileSync(join(dir, 'remote', 'ctrl-c-tree', 'big'), randomBytes(32 * 1024 * 1024));
    const before = leftoversIn(tmpdir());
    const back = local('ctrl-c-tree-back');
    mkdirSync(back);
    const down = await interrupted(['cp', '-r', remote('ctrl-c-tree'), `${back}/`], () => fileGrows(back, '.', 1024 * 1024));
    expect(down.code).toBe(130);
    expect(readdirSync(back)).toEqual([]);
    expect(leftoversIn(tmpdir()).filter((name) => !before.includes(name))).toEqual([]);
    expect(await activeSessions()).toEqual([]);
  }, 120_000);

  it('the service gone in the middle of a download is a connection error (5), not a short copy', async () => {
    const own = await startEmulatorProcess();
    expect((await ssmx(['setup'], own)).code).toBe(0);
    const big = join(dir, 'remote', 'service-gone');
    writeFileSync(big, randomBytes(32 * 1024 * 1024));
    const into = local('service-gone');
    mkdirSync(into);
    const child = spawn(process.execPath, [ssmxBin, 'cp', `${TARGET}:${big}`, `${into}/`], { env: own.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    await fileGrows(into, '.', 1024 * 1024);
    await own.stop();
    expect(await exited).toBe(5);
    expect(stderr).not.toContain('came back short');
    expect(stderr).toMatch(/ssmx: error: .*service-gone: the session ended before the copy was done/);
    expect(readdirSync(into)).toEqual([]);
  }, 120_000);
});
