// @module-tag needs-sshd
// @module-tag needs-ssh-keygen
// @module-tag needs-ssh
// @module-tag needs-aws
// @module-tag needs-python3
// @module-tag needs-dpkg-deb
// @module-tag needs-node-pty
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { buildExecutable } from '../support/executable.js';
import { startForward } from '../support/forward.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';
import { startSshd, type Sshd } from '../support/sshd.js';

// Issue 13: the linux-x64 standalone executable, as a user drops it on a machine with no Node:
// a PATH that holds it (as ssmx and as session-manager-plugin) and the tools it serves, no node.

const TARGET = 'i-0123456789abcdef0';
const PROMPT = 'ssmx-standalone$ ';

let emulator: EmulatorProcess;
let sshd: Sshd;
let echo: Server;
let echoPort: number;
let bin: string;
let env: NodeJS.ProcessEnv;
let executable: string;

beforeAll(async () => {
  const built = buildExecutable('linux-x64', { deb: true });
  [emulator, sshd] = await Promise.all([startEmulatorProcess(['--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`, '--agent-pacing', 'off']), startSshd()]);
  bin = mkdtempSync(join(tmpdir(), 'ssmx-standalone-bin-'));
  executable = await built;
  copyFileSync(executable, join(bin, 'ssmx'));
  execFileSync('chmod', ['755', join(bin, 'ssmx')]);
  symlinkSync(join(bin, 'ssmx'), join(bin, 'session-manager-plugin'));
  // Only what the tests run, from the system: no node anywhere on this PATH.
  for (const tool of ['sh', 'bash', 'ssh', 'aws', 'python3']) symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }).trim(), join(bin, tool));
  env = { ...emulator.env, PATH: bin, AWS_PAGER: '', AWS_DEFAULT_OUTPUT: 'json' };
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
}, 300_000);
afterAll(async () => {
  echo?.close();
  await Promise.all([emulator?.stop(), sshd?.stop()]);
});

describe('the linux-x64 executable, with no node on the PATH', () => {
  it('there is no node to fall back on; the executable says its version', async () => {
    expect((await runProgram('sh', ['-c', 'command -v node || echo none'], { env })).stdout).toBe('none\n');
    const version = await runProgram(join(bin, 'ssmx'), ['--version'], { env });
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('runs a piped shell', async () => {
    const result = await runProgram(join(bin, 'ssmx'), ['shell', TARGET], { env, input: 'echo standalone-$((6*7))\nexit\n', timeoutMs: 20_000 });
    expect(result.stdout).toMatch(/standalone-42\r?\n/);
    expect(result.code).toBe(0);
  });

  it('forwards a port: a byte goes there and back', async () => {
    const forward = await startForward(env, [TARGET, `0:${echoPort}`, '--sessions', '1'], 1, [join(bin, 'ssmx')]);
    const port = forward.listeners[0]!.localPort!;
    const back = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port }, () => socket.write('x'));
      socket.once('data', (data: Buffer) => {
        socket.destroy();
        resolve(data);
      });
      socket.on('error', reject);
    });
    expect(back.toString()).toBe('x');
    expect(await forward.stop()).toBe(0);
  });

  it('is ssh\'s ProxyCommand: ssh runs a command on a real sshd through `ssmx proxy`', async () => {
    const result = await runProgram('ssh', ['-o', 'ProxyCommand=ssmx proxy %h %p', ...sshd.clientOptions, '-p', String(sshd.port), `${sshd.user}@${TARGET}`, 'echo through-standalone'], { env, timeoutMs: 30_000 });
    expect(result.stdout).toBe('through-standalone\n');
    expect(result.code).toBe(0);
  });

  it('serves aws ssm start-session as session-manager-plugin, by its name', async () => {
    const term = runInPty(join(bin, 'aws'), ['ssm', 'start-session', '--target', TARGET, '--endpoint-url', emulator.info.endpoint, '--region', emulator.info.region], { env });
    await term.waitFor(PROMPT, { timeoutMs: 20_000 });
    const mark = term.output().length;
    term.write('echo plugin-$((6*7))\r');
    await term.waitFor(/plugin-42\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toMatch(/Exiting session with sessionId: \S+\./);
  }, 40_000);
});

describe('the executable\'s own install-plugin', () => {
  it('writes a launcher that runs the executable itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-standalone-plugin-'));
    const result = await runProgram(join(bin, 'ssmx'), ['install-plugin', dir], { env });
    expect(result.code).toBe(0);
    const launcher = join(dir, 'session-manager-plugin');
    const spoken = await runProgram(launcher, [], { env, input: '' });
    expect(spoken.stdout).toContain('ssmx is installed as session-manager-plugin');
    const started = spawn(launcher, ['--version'], { env });
    const out = await new Promise<string>((resolve) => {
      let text = '';
      started.stdout.on('data', (data: Buffer) => (text += data.toString()));
      started.once('close', () => resolve(text));
    });
    expect(out).toMatch(/^\d+\.\d+\.\d+\.\d+\n$/);
  });
});

describe('the .deb (npm run dist -- --deb)', () => {
  it('holds /usr/bin/ssmx and the plugin name linked to it, runs from where dpkg would put it, and is in SHA256SUMS', async () => {
    const { readFileSync, readdirSync, readlinkSync } = await import('node:fs');
    const { createHash } = await import('node:crypto');
    const { dirname } = await import('node:path');
    const release = dirname(executable);
    const deb = readdirSync(release).find((name) => /^ssmx_[\d.]+_amd64\.deb$/.test(name))!;
    expect(deb).toBeDefined();
    const info = execFileSync('dpkg-deb', ['--info', join(release, deb)], { encoding: 'utf8' });
    expect(info).toMatch(/Package: ssmx/);
    expect(info).toMatch(/Architecture: amd64/);
    const contents = execFileSync('dpkg-deb', ['--contents', join(release, deb)], { encoding: 'utf8' });
    expect(contents).toMatch(/-rwxr-xr-x root\/root .* \.\/usr\/bin\/ssmx\n/);
    expect(contents).toMatch(/\.\/usr\/bin\/session-manager-plugin -> ssmx/);
    const root = mkdtempSync(join(tmpdir(), 'ssmx-deb-'));
    execFileSync('dpkg-deb', ['--extract', join(release, deb), root]);
    expect(readlinkSync(join(root, 'usr/bin/session-manager-plugin'))).toBe('ssmx');
    expect((await runProgram(join(root, 'usr/bin/ssmx'), ['--version'], { env })).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
    expect((await runProgram(join(root, 'usr/bin/session-manager-plugin'), ['--version'], { env })).code).toBe(0);
    const sums = readFileSync(join(release, 'SHA256SUMS'), 'utf8');
    expect(sums).toContain(`${createHash('sha256').update(readFileSync(join(release, deb))).digest('hex')}  ${deb}`);
  }, 60_000);
});
