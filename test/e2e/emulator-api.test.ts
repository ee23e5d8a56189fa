// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import {
  DescribeInstanceInformationCommand,
  DescribeSessionsCommand,
  ResumeSessionCommand,
  SSMClient,
  StartSessionCommand,
  TerminateSessionCommand,
} from '@aws-sdk/client-ssm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';

let emulator: EmulatorProcess;
let ssm: SSMClient;

function client(secret?: string) {
  return new SSMClient({
    region: emulator.info.region,
    endpoint: emulator.info.endpoint,
    credentials: { accessKeyId: emulator.info.accessKeyId, secretAccessKey: secret ?? emulator.info.secretAccessKey },
  });
}

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--instance', 'i-0123456789abcdef0=demo', '--instance', 'i-0aaaaaaaaaaaaaaa1=web-1']);
  ssm = client();
});
afterAll(async () => {
  ssm?.destroy();
  await emulator?.stop();
});

/** Opens the data channel as the plugin does and reports how the gateway answers. */
function openDataChannel(streamUrl: string, token: string): Promise<{ opened: boolean; closeCode?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(streamUrl);
    ws.on('open', () => {
      ws.send(JSON.stringify({ MessageSchemaVersion: '1.0', RequestId: 'r', TokenValue: token, ClientId: 'c', ClientVersion: '1.2.650.0' }));
      // The agent speaks first on a good token; a bad one is closed.
      ws.once('message', () => {
        ws.terminate();
        resolve({ opened: true });
      });
    });
    ws.on('close', (code) => resolve({ opened: false, closeCode: code }));
    ws.on('error', () => undefined);
  });
}

describe('the emulator as the real SDK sees it', () => {
  it('announces itself with one JSON line on loopback', () => {
    expect(emulator.info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emulator.info.instances).toEqual([{ id: 'i-0123456789abcdef0', name: 'demo' }, { id: 'i-0aaaaaaaaaaaaaaa1', name: 'web-1' }]);
  });

  it('DescribeInstanceInformation lists the configured instances', async () => {
    const out = await ssm.send(new DescribeInstanceInformationCommand({}));
    expect(out.InstanceInformationList?.map((i) => [i.InstanceId, i.PingStatus, i.AgentVersion, i.ComputerName])).toEqual([
      ['i-0123456789abcdef0', 'Online', '3.3.1142.0', 'demo'],
      ['i-0aaaaaaaaaaaaaaa1', 'Online', '3.3.1142.0', 'web-1'],
    ]);
  });

  it('DescribeInstanceInformation filters by Name tag, id and ping status, and refuses unknown filter keys', async () => {
    const ids = async (filters: Array<{ Key: string; Values: string[] }>) =>
      (await ssm.send(new DescribeInstanceInformationCommand({ Filters: filters }))).InstanceInformationList?.map((i) => i.InstanceId);
    expect(await ids([{ Key: 'tag:Name', Values: ['web-1'] }])).toEqual(['i-0aaaaaaaaaaaaaaa1']);
    expect(await ids([{ Key: 'tag:Name', Values: ['nope'] }])).toEqual([]);
    expect(await ids([{ Key: 'tag:Owner', Values: ['x'] }])).toEqual([]);
    expect(await ids([{ Key: 'InstanceIds', Values: ['i-0123456789abcdef0'] }, { Key: 'PingStatus', Values: ['Online'] }])).toEqual(['i-0123456789abcdef0']);
    const refused = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'Tag Key', Values: ['x'] }] })).then(() => undefined, (error: Error) => error.name);
    expect(refused).toBe('InvalidFilterKey');
  });

  it('StartSession, ResumeSession and TerminateSession keep the token and session state as the service does', async () => {
    const started = await ssm.send(new StartSessionCommand({ Target: 'i-0aaaaaaaaaaaaaaa1', Reason: 'audit me' }));
    expect(started.SessionId).toMatch(/^ssmx-emulator-[0-9a-f]{17}$/);
    expect(started.StreamUrl).toBe(`${emulator.info.endpoint.replace('http', 'ws')}/v1/data-channel/${started.SessionId}?role=publish_subscribe&cell-number=1`);
    const resumed = await ssm.send(new ResumeSessionCommand({ SessionId: started.SessionId }));
    expect(resumed.TokenValue).toBeTruthy();
    expect(resumed.TokenValue).not.toBe(started.TokenValue);
    // The first token is spent; the new one opens the channel.
    expect(await openDataChannel(started.StreamUrl!, started.TokenValue!)).toEqual({ opened: false, closeCode: 1008 });
    expect(await openDataChannel(resumed.StreamUrl!, resumed.TokenValue!)).toEqual({ opened: true });
    const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }));
    expect(active.Sessions?.find((s) => s.SessionId === started.SessionId)).toMatchObject({ Target: 'i-0aaaaaaaaaaaaaaa1', Reason: 'audit me', Status: 'Connected' });
    await ssm.send(new TerminateSessionCommand({ SessionId: started.SessionId }));
    const after = await ssm.send(new ResumeSessionCommand({ SessionId: started.SessionId }));
    expect(after.TokenValue).toBeUndefined();
    const history = await ssm.send(new DescribeSessionsCommand({ State: 'History' }));
    expect(history.Sessions?.find((s) => s.SessionId === started.SessionId)?.Status).toBe('Terminated');
  });

  it('TerminateSession as AWS answers it: success with the id for an id it has no session of; ValidationException for one that has ended', async () => {
    expect((await ssm.send(new TerminateSessionCommand({ SessionId: 'nosuch-session' }))).SessionId).toBe('nosuch-session');
    const { SessionId } = await ssm.send(new StartSessionCommand({ Target: 'i-0123456789abcdef0' }));
    expect((await ssm.send(new TerminateSessionCommand({ SessionId }))).SessionId).toBe(SessionId);
    const again = await ssm.send(new TerminateSessionCommand({ SessionId })).then(() => undefined, (error: Error) => `${error.name}: ${error.message}`);
    expect(again).toBe('ValidationException: Session is not in a valid state');
  });

  it('answers errors in the AWS JSON shape, which the SDK turns into named exceptions', async () => {
    const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: Error) => error.name);
    expect(await failure(ssm.send(new StartSessionCommand({ Target: 'i-0fffffffffffffff0' })))).toBe('TargetNotConnected');
    expect(await failure(ssm.send(new StartSessionCommand({ Target: 'i-0123456789abcdef0', DocumentName: 'No-Such-Doc' })))).toBe('InvalidDocument');
    expect(await failure(ssm.send(new ResumeSessionCommand({ SessionId: 'nobody-0' })))).toBe('DoesNotExistException');
    const wrong = client('wrong-secret');
    expect(await failure(wrong.send(new DescribeInstanceInformationCommand({})))).toBe('InvalidSignatureException');
    wrong.destroy();
    const stranger = new SSMClient({ region: emulator.info.region, endpoint: emulator.info.endpoint, credentials: { accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' } });
    expect(await failure(stranger.send(new DescribeInstanceInformationCommand({})))).toBe('UnrecognizedClientException');
    stranger.destroy();
  });

  it('ends the session on the service when ssmx is stopped by SIGTERM, and the shell session when the shell exits', async () => {
    const before = new Set((await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions?.map((s) => s.SessionId));
    const term = runInPty(process.execPath, [ssmxBin, 'shell', 'i-0123456789abcdef0'], { env: emulator.env });
    await term.waitFor(/[$#] $/);
    const mine = (await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions?.filter((s) => !before.has(s.SessionId));
    expect(mine).toHaveLength(1);
    term.pty.kill('SIGTERM');
    expect((await term.exited).exitCode).toBe(143);
    const history = await ssm.send(new DescribeSessionsCommand({ State: 'History' }));
    expect(history.Sessions?.find((s) => s.SessionId === mine![0]!.SessionId)?.Status).toBe('Terminated');

    const known = new Set([...before, mine![0]!.SessionId]);
    const second = runInPty(process.execPath, [ssmxBin, 'shell', 'i-0123456789abcdef0'], { env: emulator.env });
    await second.waitFor(/[$#] $/);
    const other = (await ssm.send(new DescribeSessionsCommand({ State: 'Active' }))).Sessions?.find((s) => !known.has(s.SessionId));
    second.write('exit\r');
    expect((await second.exited).exitCode).toBe(0);
    const ended = await ssm.send(new DescribeSessionsCommand({ State: 'History' }));
    expect(ended.Sessions?.find((s) => s.SessionId === other!.SessionId)?.Status).toBe('Terminated');
  });

  it('stops on SIGTERM with status 0', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'emulator', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(0);
  });
});
