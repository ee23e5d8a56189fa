// @module-tag needs-script
// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Defects found by a hands-on review, each with the command that showed it.

let emulator: EmulatorProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
});
afterAll(async () => {
  await emulator?.stop();
});

/** Runs a command line in a PTY that reports 0 rows and 0 columns, as `script` makes one off a terminal. */
function inZeroSizedPty(command: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ exitCode: number | null; output: Buffer; ms: number }>((resolve) => {
    const started = Date.now();
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    const keep = (data: Buffer) => {
      size += data.length;
      if (size < 1_000_000) chunks.push(data);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output: Buffer.concat(chunks), ms: Date.now() - started });
    });
  });
}

describe('the spinner on a terminal that reports 0 columns', () => {
  it('draws nothing there, and the command ends with its own status', async () => {
    const run = await inZeroSizedPty(`stty size; ${process.execPath} ${ssmxBin} run nosuch -- true`, emulator.env, 15_000);
    const text = run.output.toString();
    expect(text).toMatch(/^0 0\r?\n/);
    expect(text).toMatch(/no managed instance|nosuch/);
    expect(run.exitCode).toBe(4);
    // Before: ESC[1A ESC[0K without end, megabytes a second, until killed.
    expect(run.output.length).toBeLessThan(4096);
    expect(text).not.toContain('\x1b[1A');
  });
});

/** A listener for endpoint tests: `answer` gets each connection (HTTP or not). */
async function listener(answer: (socket: Socket) => void): Promise<{ port: number; server: Server; close(): void }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    answer(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

/** An HTTP answer, whatever was asked. */
const httpAnswer = (status: string, headers: string[], body: string) => (socket: Socket) =>
  socket.once('data', () => socket.end([`HTTP/1.1 ${status}`, ...headers, `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body].join('\r\n')));

describe('endpoints that do not answer, or not as AWS does', () => {
  const ssmxAgainst = (endpoint: string, args: string[] = []) =>
    runProgram(process.execPath, [ssmxBin, ...args, 'ls'], { env: { ...emulator.env, AWS_ENDPOINT_URL: endpoint }, timeoutMs: 30_000 });

  /** One error line and one hint, nothing of the SDK's insides. */
  const expectOneLine = (stderr: string) => {
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(2);
    expect(lines[0]).toMatch(/^ssmx: error: /);
    expect(lines[1]).toMatch(/^hint: /);
    expect(stderr).not.toMatch(/Deserialization|\$response|UnknownError|OpenSSL|node-http-handler/);
  };

  it('a listener that accepts and never answers: the read timeout, a line naming the endpoint, status 5', async () => {
    const silent = await listener(() => undefined);
    try {
      const started = Date.now();
      const run = await ssmxAgainst(`http://127.0.0.1:${silent.port}`, ['--connect-timeout', '1', '--read-timeout', '1']);
      expect(run.code).toBe(5);
      expect(run.stderr).toContain(`http://127.0.0.1:${silent.port} took the connection but did not answer DescribeInstanceInformation within 1 s`);
      expect(run.stderr).toMatch(/--read-timeout sets how long to wait/);
      expectOneLine(run.stderr);
      // Three attempts (the SDK's retries) of one second each, and their backoff.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      silent.close();
    }
  });

  it('on a terminal too: the spinner ends with the timeout', async () => {
    const silent = await listener(() => undefined);
    const { runInPty } = await import('../support/pty.js');
    try {
      const term = runInPty(process.execPath, [ssmxBin, '--read-timeout', '1', 'ls'], { env: { ...emulator.env, AWS_ENDPOINT_URL: `http://127.0.0.1:${silent.port}` } });
      const { exitCode } = await term.exited;
      expect(exitCode).toBe(5);
      expect(term.output()).toContain('did not answer DescribeInstanceInformation within 1 s');
    } finally {
      silent.close();
    }
  });

  it('--read-timeout and --connect-timeout take seconds above 0', async () => {
    const run = await runProgram(process.execPath, [ssmxBin, '--read-timeout', '0', 'ls'], { env: emulator.env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--read-timeout must be more than 0/);
  });

  it('an empty 404, an HTML page, and plain HTTP behind https://: one line each, naming the endpoint, status 5', async () => {
    const notFound = await listener(httpAnswer('404 Not Found', [], ''));
    const html = await listener(httpAnswer('200 OK', ['Content-Type: text/html; charset=utf-8'], '<html><body>Corporate login</body></html>'));
    try {
      const run404 = await ssmxAgainst(`http://127.0.0.1:${notFound.port}`);
      expect(run404.code).toBe(5);
      expect(run404.stderr).toContain(`http://127.0.0.1:${notFound.port} answered DescribeInstanceInformation with HTTP 404 and no AWS error in it`);
      expectOneLine(run404.stderr);

      const runHtml = await ssmxAgainst(`http://127.0.0.1:${html.port}`);
      expect(runHtml.code).toBe(5);
      expect(runHtml.stderr).toContain(`http://127.0.0.1:${html.port} answered DescribeInstanceInformation with something that is not an AWS response (HTTP 200, text/html)`);
      expectOneLine(runHtml.stderr);

      const runTls = await ssmxAgainst(`https://127.0.0.1:${html.port}`);
      expect(runTls.code).toBe(5);
      expect(runTls.stderr).toContain(`https://127.0.0.1:${html.port} does not speak TLS (is it an http:// endpoint?)`);
      expectOneLine(runTls.stderr);
    } finally {
      notFound.close();
      html.close();
    }
  });
});

describe('what a person at a terminal sees', () => {
  it('the session id when the session starts and ends; nothing with --quiet', async () => {
    const { runInPty } = await import('../support/pty.js');
    const term = runInPty(process.execPath, [ssmxBin, 'shell', 'i-0123456789abcdef0'], { env: emulator.env });
    await term.waitFor(/Starting session with SessionId: (\S+)\r?\n/, { timeoutMs: 15_000 });
    const id = /Starting session with SessionId: (\S+)\r?\n/.exec(term.output())![1]!;
    term.write('echo ready-$((1+1))\r');
    await term.waitFor(/ready-2\r\n/, { timeoutMs: 15_000 });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toContain(`Exiting session with sessionId: ${id}.`);

    const quiet = runInPty(process.execPath, [ssmxBin, '--quiet', 'shell', 'i-0123456789abcdef0'], { env: emulator.env });
    quiet.write('echo ready-$((1+1))\r');
    await quiet.waitFor(/ready-2\r\n/, { timeoutMs: 15_000 });
    quiet.write('exit\r');
    await quiet.exited;
    expect(quiet.output()).not.toMatch(/Starting session|Exiting session/);
  });

  it('NO_COLOR: the spinner turns without colour', async () => {
    const silent = await listener(() => undefined);
    const { runInPty } = await import('../support/pty.js');
    try {
      // Looking up a Name tag shows the spinner, while the silent endpoint keeps it turning.
      const plain = runInPty(process.execPath, [ssmxBin, '--read-timeout', '1', 'shell', 'demo'], { env: { ...emulator.env, NO_COLOR: '1', AWS_ENDPOINT_URL: `http://127.0.0.1:${silent.port}` } });
      await plain.exited;
      expect(plain.output()).toContain('Looking up demo');
      expect(plain.output()).not.toContain('\x1b[36m');
      // Colour where nothing turns it off: chalk also turns it off under CI=true, as .ci/run sets.
      const { NO_COLOR: _off, CI: _ci, ...coloured } = emulator.env;
      const painted = runInPty(process.execPath, [ssmxBin, '--read-timeout', '1', 'shell', 'demo'], { env: { ...coloured, AWS_ENDPOINT_URL: `http://127.0.0.1:${silent.port}` } });
      await painted.exited;
      expect(painted.output()).toContain('\x1b[36m');
    } finally {
      silent.close();
    }
  });
});

describe('ssmx setup', () => {
  it('updates an existing SSMX-RunCommand whose content differs, and run then keeps the streams apart', async () => {
    const { SSMClient, CreateDocumentCommand } = await import('@aws-sdk/client-ssm');
    const { info } = emulator;
    const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const older = { schemaVersion: '1.0', description: 'an older one', sessionType: 'NonInteractiveCommands', parameters: { command: { type: 'String' } }, properties: { linux: { commands: '{{ command }}', runAsElevated: false } } };
    await ssm.send(new CreateDocumentCommand({ Name: 'SSMX-RunCommand', Content: JSON.stringify(older), DocumentType: 'Session', DocumentFormat: 'JSON' }));
    ssm.destroy();
    const setup = await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env });
    expect(setup.stdout).toMatch(/updated the session document SSMX-RunCommand: version 2, with ssmx's content, is now its default/);
    expect((await runProgram(process.execPath, [ssmxBin, 'setup'], { env: emulator.env })).stdout).toMatch(/already exists, as ssmx needs it/);
    const run = await runProgram(process.execPath, [ssmxBin, 'run', 'i-0123456789abcdef0', '--', 'echo out; echo err >&2; exit 3'], { env: emulator.env });
    expect([run.stdout, run.stderr, run.code]).toEqual(['out\n', 'err\n', 3]);
  });
});

describe('completion of targets in a real bash', () => {
  it('Tab after shell, run, forward, proxy and ssh (user@) offers the instances', async () => {
    const { mkdtempSync: tempDir, writeFileSync: write, chmodSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = tempDir(join(tmpdir(), 'ssmx-complete-'));
    write(join(dir, 'ssmx'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(ssmxBin)} "$@"\n`);
    chmodSync(join(dir, 'ssmx'), 0o755);
    write(join(dir, 'ssmx.bash'), (await runProgram(process.execPath, [ssmxBin, 'completion', 'bash'], { env: emulator.env })).stdout);
    const env = { ...emulator.env, PATH: `${dir}:${emulator.env.PATH}`, XDG_CACHE_HOME: join(dir, 'cache') };
    const complete = (words: string) =>
      execFileSync('bash', ['-c', `source ${join(dir, 'ssmx.bash')}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _ssmx; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8', env }).trim();
    expect(complete('ssmx shell de')).toBe('demo');
    expect(complete('ssmx --region us-east-1 run i-0')).toBe('i-0123456789abcdef0');
    expect(complete('ssmx forward -q de')).toBe('demo');
    expect(complete('ssmx ssh ec2-user@de')).toBe('ec2-user@demo');
    // Past the target, no instances: forward's port specs are not targets.
    expect(complete('ssmx forward demo de')).not.toContain('demo');
  });
});
