// @module-tag needs-wine64
// @module-tag needs-node-pty
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoed } from '../support/echo.js';
import { startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';
import { buildExecutable } from '../support/executable.js';
import { freePort } from '../support/redis.js';

// Issue 13: the win-x64 executable, run for real under Wine (Debian's wine64, which .ci/run
// installs) against the emulator running on Linux. Wine's stdout must be a file: a pipe gives
// EBADF. Node's platform check refuses Wine's Windows version unless told to skip it.

const WINE = ['/usr/lib/wine/wine64', '/usr/lib64/wine/wine64', '/usr/bin/wine64'].find((path) => existsSync(path));
const TARGET = 'i-0123456789abcdef0';

let emulator: EmulatorProcess;
let echo: Server;
let echoPort: number;
let dir: string;
let exe: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!WINE) throw new Error('wine64 is not installed (apt-get install wine64; .ci/run does)');
  const built = buildExecutable('win-x64');
  emulator = await startEmulatorProcess(['--agent-pacing', 'off']);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-wine-'));
  exe = join(dir, 'ssmx.exe');
  copyFileSync(await built, exe);
  copyFileSync(exe, join(dir, 'session-manager-plugin.exe'));
  env = { ...emulator.env, WINEPREFIX: join(dir, 'prefix'), WINEDEBUG: '-all', NODE_SKIP_PLATFORM_CHECK: '1', AWS_CONFIG_FILE: 'NUL', AWS_SHARED_CREDENTIALS_FILE: 'NUL' };
  echo = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoPort = (echo.address() as AddressInfo).port;
  // The first start makes the Wine prefix (a few seconds): done here, not in the first test's time.
  await wine(exe, ['--version']).done;
}, 300_000);
afterAll(async () => {
  echo?.close();
  await emulator?.stop();
});

let runs = 0;
/** Runs a Windows program under Wine, stdout and stderr to files (read as it goes). */
function wine(program: string, args: string[]) {
  const out = join(dir, `out-${++runs}.txt`);
  const err = join(dir, `err-${runs}.txt`);
  const [outFd, errFd] = [openSync(out, 'w'), openSync(err, 'w')];
  const child: ChildProcess = spawn(WINE!, [program, ...args], { env, stdio: ['ignore', outFd, errFd] });
  closeSync(outFd);
  closeSync(errFd);
  const done = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, done, stdout: () => readFileSync(out, 'utf8'), stderr: () => readFileSync(err, 'utf8') };
}

async function until<T>(what: string, check: () => T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = check();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}


describe('ssmx-win-x64.exe under Wine, against the emulator on Linux', () => {
  it('--version', async () => {
    const run = wine(exe, ['--version']);
    expect(await run.done).toBe(0);
    expect(run.stdout()).toMatch(/^\d+\.\d+\.\d+\r?\n$/);
  }, 60_000);

  it('forward: a byte goes through and back', async () => {
    const run = wine(exe, ['forward', TARGET, `0:${echoPort}`, '--sessions', '1', '--json']);
    try {
      const port = await until('the listener line', () => {
        const line = run.stdout().split('\n').find((text) => text.startsWith('{'));
        return line ? (JSON.parse(line) as { localPort: number }).localPort : undefined;
      });
      expect(await echoed(port, 'w')).toBe('w');
    } finally {
      run.child.kill('SIGKILL');
      await run.done;
    }
  }, 90_000);

  it('run: the remote output, written to a file', async () => {
    const run = wine(exe, ['run', TARGET, '--', 'echo wine-$((6*7))']);
    expect(await run.done).toBe(0);
    expect(run.stdout()).toMatch(/wine-42\r?\n/);
  }, 90_000);

  it('as session-manager-plugin.exe: a port-forwarding session with the AWS CLI\'s arguments', async () => {
    const { info } = emulator;
    const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const localPort = await freePort();
    const params = { Target: TARGET, DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: [String(echoPort)], localPortNumber: [String(localPort)] } };
    const response = await ssm.send(new StartSessionCommand(params));
    ssm.destroy();
    const session = { SessionId: response.SessionId, TokenValue: response.TokenValue, StreamUrl: response.StreamUrl };
    const run = wine(join(dir, 'session-manager-plugin.exe'), [JSON.stringify(session), info.region, 'StartSession', '', JSON.stringify(params), info.endpoint]);
    try {
      await until('Waiting for connections', () => (run.stdout().includes('Waiting for connections...') ? true : undefined));
      expect(await echoed(localPort, 'plugin under wine')).toBe('plugin under wine');
    } finally {
      run.child.kill('SIGKILL');
      await run.done;
    }
  }, 90_000);
});
