// @module-tag needs-sshd
// @module-tag needs-ssh-keygen
// @module-tag needs-ssh
// @module-tag needs-aws
// @module-tag needs-curl
// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoed } from '../support/echo.js';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';
import { startSshd, type Sshd } from '../support/sshd.js';

// Issue 27: today's AWS. The emulator refuses unsigned data channels and ends KMS sessions whose
// client does not acknowledge the agent's random challenge, as the service will once it enforces
// plugin 1.2.764.0 and as an agent with Kms.RequireKMSChallengeResponse does. Every command works.

const TARGET = 'i-0123456789abcdef0';
const TASK = '0123456789abcdef0123456789abcdef';
const PROMPT = 'ssmx-signed$ ';
const STRICT = ['--require-signed-data-channel', '--require-kms-challenge', '--kms-key-id', 'alias/ssm-sessions', '--events'];

let emulator: EmulatorProcess;
let sshd: Sshd;
let dir: string;
let web: Server;
let webPort: number;

beforeAll(async () => {
  [emulator, sshd] = await Promise.all([
    startEmulatorProcess([...STRICT, '--agent-pacing', 'off', '--instance', `${TARGET}=web-1`, '--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]),
    startSshd(),
  ]);
  dir = mkdtempSync(join(tmpdir(), 'ssmx-signed-'));
  web = createHttpServer((request, response) => response.end(`hello ${request.url}`));
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  webPort = (web.address() as AddressInfo).port;
  expect((await ssmx(['setup'])).code).toBe(0);
});
afterAll(async () => {
  await new Promise((resolve) => web?.close(resolve));
  await Promise.all([emulator?.stop(), sshd?.stop()]);
});

const ssmx = (args: string[], env: NodeJS.ProcessEnv = emulator.env) => runProgram(process.execPath, [ssmxBin, ...args], { env, input: '', timeoutMs: 60_000 });

type Upgrade = { sessionId: string; signed: boolean; presigned: boolean; accessKeyId?: string; amzDate?: string; accepted: boolean };
const upgrades = (of: EmulatorProcess = emulator): Upgrade[] => of.events().filter((event) => event.event === 'data-channel-upgrade') as unknown as Upgrade[];
/** Every data channel opened since `from` (an index into the upgrades) was signed by the emulator's key and accepted. */
function expectSignedSince(from: number, of: EmulatorProcess = emulator): Upgrade[] {
  const seen = upgrades(of).slice(from);
  expect(seen.length).toBeGreaterThan(0);
  for (const upgrade of seen) expect(upgrade).toMatchObject({ signed: true, presigned: false, accepted: true, accessKeyId: of.info.accessKeyId });
  return seen;
}

describe('against an emulator that requires signed data channels and the KMS challenge', () => {
  it('refuses an unsigned upgrade, so the requirement is real', async () => {
    const started = await ssmxStartSession();
    const refused = await new Promise<string>((resolve) => {
      const url = new URL(started.StreamUrl);
      const socket = connect({ host: url.hostname, port: Number(url.port) });
      let answer = '';
      socket.on('data', (data: Buffer) => (answer += data.toString()));
      socket.on('close', () => resolve(answer));
      socket.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`);
    });
    expect(refused).toMatch(/^HTTP\/1\.1 403 /);
    expect(upgrades().at(-1)).toMatchObject({ sessionId: started.SessionId, signed: false, accepted: false });
  });

  it('shell: a terminal session, KMS-encrypted with the challenge, its upgrade signed', async () => {
    const from = upgrades().length;
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 15_000 });
    expect(term.output()).toContain('This session is encrypted using AWS KMS.');
    const mark = term.output().length;
    term.write('echo signed-$((6*7))\r');
    await term.waitFor(/signed-42\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
    expectSignedSince(from);
  });

  it('run: the status and streams, through a signed, encrypted channel', async () => {
    const from = upgrades().length;
    const result = await ssmx(['run', TARGET, '--', 'echo out-$((6*7)); echo err >&2; exit 3']);
    expect(result.stdout).toBe('out-42\n');
    expect(result.stderr).toContain('err');
    expect(result.code).toBe(3);
    expectSignedSince(from);
  });

  it('exec (ECS): encrypted under the container target, signed', async () => {
    const from = upgrades().length;
    const result = await ssmx(['exec', 'demo', TASK, '--', 'echo ecs-$((6*7))']);
    expect(result.stdout).toContain('ecs-42');
    expect(result.code).toBe(0);
    expectSignedSince(from);
  });

  it('forward: bytes echoed through a signed port session', async () => {
    const echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const from = upgrades().length;
    const forward = await startForward(emulator.env, [TARGET, `0:${(echo.address() as AddressInfo).port}`]);
    try {
      expect(await echoed(forward.listeners[0]!.localPort!, 'through a signed channel')).toBe('through a signed channel');
    } finally {
      expect(await forward.stop()).toBe(0);
      echo.close();
    }
    expectSignedSince(from);
  });

  it('socks: curl through a signed port session', async () => {
    const from = upgrades().length;
    const child = spawn(process.execPath, [ssmxBin, 'socks', TARGET, '--listen', '127.0.0.1:0'], { env: emulator.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const deadline = Date.now() + 20_000;
      while (!/SOCKS proxy on \S+:(\d+) /.test(stderr)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`ssmx socks did not start: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const port = /SOCKS proxy on \S+:(\d+) /.exec(stderr)![1];
      const result = await runProgram('curl', ['-sS', '--max-time', '20', '--socks5-hostname', `127.0.0.1:${port}`, `http://localhost:${webPort}/signed`], { env: emulator.env });
      expect(result.stdout).toBe('hello /signed');
    } finally {
      child.kill('SIGINT');
    }
    expectSignedSince(from);
  });

  it('cp: a file up and back, whole', async () => {
    const data = randomBytes(256 * 1024);
    const local = join(dir, 'up.bin');
    writeFileSync(local, data);
    mkdirSync(join(dir, 'remote'));
    mkdirSync(join(dir, 'down'));
    const from = upgrades().length;
    expect((await ssmx(['cp', local, `${TARGET}:${join(dir, 'remote', 'up.bin')}`])).code).toBe(0);
    expect((await ssmx(['cp', `${TARGET}:${join(dir, 'remote', 'up.bin')}`, join(dir, 'down')])).code).toBe(0);
    expect(readFileSync(join(dir, 'down', 'up.bin')).equals(data)).toBe(true);
    expectSignedSince(from);
  });

  it('proxy: ssh through ssmx proxy with a real OpenSSH server', async () => {
    const from = upgrades().length;
    const result = await runProgram('ssh', ['-o', `ProxyCommand=${process.execPath} ${ssmxBin} proxy %h %p`, ...sshd.clientOptions, '-p', String(sshd.port), `${sshd.user}@${TARGET}`, 'echo over-ssh'], { env: emulator.env });
    expect(result.stdout).toBe('over-ssh\n');
    expect(result.code).toBe(0);
    expectSignedSince(from);
  });

  it('aws ssm start-session (Debian\'s AWS CLI, a profile from a config file) with ssmx as its plugin', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'ssmx-signed-bin-'));
    expect((await ssmx(['install-plugin', bin])).code).toBe(0);
    const awsDir = mkdtempSync(join(tmpdir(), 'ssmx-signed-aws-'));
    writeFileSync(join(awsDir, 'config'), `[profile signed]\nregion = ${emulator.info.region}\n`);
    writeFileSync(join(awsDir, 'credentials'), `[signed]\naws_access_key_id = ${emulator.info.accessKeyId}\naws_secret_access_key = ${emulator.info.secretAccessKey}\n`);
    chmodSync(join(awsDir, 'credentials'), 0o600);
    // Only the profile: no keys or region in the environment the plugin inherits. KMS, which the
    // plugin calls at its own endpoint (docs/protocol.md §5), is pointed at the emulator.
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, AWS_REGION: _region, AWS_ENDPOINT_URL: _endpoint, ...rest } = emulator.env;
    const env = {
      ...rest,
      PATH: `${bin}:${rest.PATH}`,
      AWS_CONFIG_FILE: join(awsDir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'credentials'),
      AWS_ENDPOINT_URL_KMS: emulator.info.endpoint,
      AWS_PAGER: '',
    };

    const version = await runProgram(join(bin, 'session-manager-plugin'), ['--version'], { env });
    expect(version.stdout).toBe('1.2.896.0\n');

    const from = upgrades().length;
    const term = runInPty('/usr/bin/aws', ['ssm', 'start-session', '--profile', 'signed', '--endpoint-url', emulator.info.endpoint, '--target', TARGET], { env });
    await term.waitFor(PROMPT, { timeoutMs: 30_000 });
    const mark = term.output().length;
    term.write('echo aws-cli-$((6*7))\r');
    await term.waitFor(/aws-cli-42\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
    // Neither a warning about the plugin's version nor anything about signing.
    expect(term.output()).not.toMatch(/version|upgrade|outdated|unsigned/i);
    expectSignedSince(from);
  }, 60_000);
});

describe('where the data channel may go', () => {
  it('a StreamUrl naming another local port is refused, exit 5, and that port receives nothing', async () => {
    const reached: string[] = [];
    const listener = createServer((socket: Socket) => {
      reached.push('a connection');
      socket.on('data', (data: Buffer) => reached.push(data.toString()));
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    const elsewhere = await startEmulatorProcess(['--public-endpoint', `http://127.0.0.1:${port}`]);
    try {
      const result = await ssmx(['run', TARGET, '--', 'echo never'], elsewhere.env);
      expect(result.code).toBe(5);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`cannot open the data channel at ws://127\\.0\\.0\\.1:${port}/v1/data-channel/\\S+: 127\\.0\\.0\\.1:${port} is not an endpoint ssmx sends credentials to`));
      expect(result.stderr).toMatch(/hint: .*--ssmmessages-endpoint or AWS_ENDPOINT_URL_SSMMESSAGES/);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(reached).toEqual([]);
    } finally {
      listener.close();
      await elsewhere.stop();
    }
  });
});

describe('reconnects as the current plugin makes them', () => {
  it('a resume after the gateway closes the channel carries a new signature', async () => {
    const cutting = await startEmulatorProcess([...STRICT, '--agent-pacing', 'off', '--gateway-close-after', '1.2']);
    try {
      const result = await ssmx(['run', TARGET, '--', 'sleep 3; echo after-the-cuts'], cutting.env);
      expect(result.stdout).toBe('after-the-cuts\n');
      expect(result.code).toBe(0);
      const seen = expectSignedSince(0, cutting);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      expect(new Set(seen.map((upgrade) => upgrade.sessionId)).size).toBe(1);
      expect(new Set(seen.map((upgrade) => upgrade.amzDate)).size).toBe(seen.length);
    } finally {
      await cutting.stop();
    }
  });
});

async function ssmxStartSession(): Promise<{ SessionId: string; StreamUrl: string }> {
  const { SSMClient, StartSessionCommand } = await import('@aws-sdk/client-ssm');
  const { info } = emulator;
  const client = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  try {
    const started = await client.send(new StartSessionCommand({ Target: TARGET }));
    return { SessionId: started.SessionId!, StreamUrl: started.StreamUrl! };
  } finally {
    client.destroy();
  }
}

describe('credentials that expire during a session', () => {
  it('are refreshed at the resume: the new connection is signed with the new keys (a credential_process handing out short-lived ones)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'ssmx-expiring-'));
    const now = Date.now();
    const keys = [
      { accessKeyId: 'ASIAEXPIRINGSSMX0001', secretAccessKey: 'first-secret', sessionToken: 'first-token', expiresAt: new Date(now + 5_000).toISOString() },
      { accessKeyId: 'ASIAEXPIRINGSSMX0002', secretAccessKey: 'second-secret', sessionToken: 'second-token', expiresAt: new Date(now + 3_600_000).toISOString() },
    ];
    writeFileSync(join(work, 'keys.json'), JSON.stringify(keys));
    // As a credential_process does: the first keys not yet expired, with their expiry.
    writeFileSync(
      join(work, 'credentials.cjs'),
      `const keys = JSON.parse(require('fs').readFileSync(${JSON.stringify(join(work, 'keys.json'))}, 'utf8'));
const key = keys.find((k) => Date.parse(k.expiresAt) > Date.now() + 500);
process.stdout.write(JSON.stringify({ Version: 1, AccessKeyId: key.accessKeyId, SecretAccessKey: key.secretAccessKey, SessionToken: key.sessionToken, Expiration: key.expiresAt }));
`,
    );
    writeFileSync(join(work, 'config'), `[profile expiring]\nregion = us-east-1\ncredential_process = ${process.execPath} ${join(work, 'credentials.cjs')}\n`);
    writeFileSync(join(work, 'emulator.json'), JSON.stringify({ principals: keys }));
    const expiring = await startEmulatorProcess([...STRICT, '--config', join(work, 'emulator.json'), '--agent-pacing', 'off', '--gateway-close-after', '7']);
    try {
      const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = expiring.env;
      const env = { ...rest, AWS_PROFILE: 'expiring', AWS_CONFIG_FILE: join(work, 'config') };
      const result = await ssmx(['run', TARGET, '--', 'sleep 9; echo outlived-its-keys'], env);
      expect(result.stderr).not.toMatch(/error/);
      expect(result.stdout).toBe('outlived-its-keys\n');
      expect(result.code).toBe(0);
      const seen = upgrades(expiring);
      expect(seen.map((upgrade) => [upgrade.accessKeyId, upgrade.accepted])).toEqual([
        ['ASIAEXPIRINGSSMX0001', true],
        ['ASIAEXPIRINGSSMX0002', true],
      ]);
    } finally {
      await expiring.stop();
    }
  }, 40_000);
});

describe('presigned StreamUrls', () => {
  it('are opened as given, unsigned, even where signatures are required; a drop is not resumed (the plugin skips it)', async () => {
    const presigning = await startEmulatorProcess([...STRICT, '--presigned-stream-urls', '--agent-pacing', 'off', '--gateway-close-after', '1.5']);
    try {
      const quick = await ssmx(['run', TARGET, '--', 'echo presigned-ok'], presigning.env);
      expect(quick.stdout).toBe('presigned-ok\n');
      expect(quick.code).toBe(0);
      const cut = await ssmx(['run', TARGET, '--', 'sleep 4; echo never-printed'], presigning.env);
      expect(cut.stdout).toBe('');
      expect(cut.code).toBe(5);
      const seen = upgrades(presigning);
      expect(seen).toHaveLength(2);
      for (const upgrade of seen) expect(upgrade).toMatchObject({ signed: false, presigned: true, accepted: true });
    } finally {
      await presigning.stop();
    }
  });
});

describe('plugin mode without credentials, as the plugin', () => {
  async function pluginRun(of: EmulatorProcess, extra: NodeJS.ProcessEnv) {
    const { SSMClient, StartSessionCommand } = await import('@aws-sdk/client-ssm');
    const { info } = of;
    const client = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
    const request = { Target: TARGET, DocumentName: 'AWS-StartNonInteractiveCommand', Parameters: { command: ['echo plugin-unsigned'] } };
    const started = await client.send(new StartSessionCommand(request));
    client.destroy();
    const response = JSON.stringify({ SessionId: started.SessionId, TokenValue: started.TokenValue, StreamUrl: started.StreamUrl });
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = of.env;
    return runProgram(process.execPath, [ssmxBin, 'plugin', 'AWS_SSM_START_SESSION_RESPONSE', info.region, 'StartSession', '', JSON.stringify(request), info.endpoint], {
      env: { ...rest, AWS_SSM_START_SESSION_RESPONSE: response, SSMX_VERBOSE: '1', ...extra },
      input: '',
      timeoutMs: 30_000,
    });
  }

  it('no credentials at all: the data channel opens unsigned, and SSMX_VERBOSE says so', async () => {
    const lenient = await startEmulatorProcess(['--events']);
    try {
      const result = await pluginRun(lenient, {});
      expect(result.stdout).toContain('plugin-unsigned');
      expect(result.stderr).toMatch(/ssmx: no AWS credentials to sign the data channel with \(.*\); opening it unsigned, as the plugin does/);
      expect(upgrades(lenient)).toMatchObject([{ signed: false, accepted: true }]);
    } finally {
      await lenient.stop();
    }
  });

  it('SSM_PLUGIN_SKIP_CLIENT_CONFIGURE=true: unsigned even with credentials at hand', async () => {
    const lenient = await startEmulatorProcess(['--events']);
    try {
      const result = await pluginRun(lenient, { AWS_ACCESS_KEY_ID: lenient.info.accessKeyId, AWS_SECRET_ACCESS_KEY: lenient.info.secretAccessKey, SSM_PLUGIN_SKIP_CLIENT_CONFIGURE: 'true' });
      expect(result.stdout).toContain('plugin-unsigned');
      expect(result.stderr).toMatch(/SSM_PLUGIN_SKIP_CLIENT_CONFIGURE=true: the data channel is opened unsigned/);
      expect(upgrades(lenient)).toMatchObject([{ signed: false, accepted: true }]);
    } finally {
      await lenient.stop();
    }
  });

  it('an emulator that requires signatures refuses the unsigned channel: a clear error', async () => {
    const result = await pluginRun(emulator, {});
    expect(result.stdout).not.toContain('plugin-unsigned');
    expect(result.stderr).toMatch(/cannot open the data channel at .*HTTP 403/);
  });
});
