// @module-tag needs-node-pty
import { DescribeSessionsCommand, SSMClient, StartSessionCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 28, point 13: TerminateSession answers success, with the id, for an id the service has no
// session of, so `ssmx terminate nosuch-session` said "terminated" and exited 0.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
});
afterAll(async () => {
  ssm?.destroy();
  await emulator?.stop();
});

const ssmx = (args: string[]) => runProgram(process.execPath, [ssmxBin, ...args], { env: emulator.env, input: '', timeoutMs: 20_000 });

describe('ssmx terminate', () => {
  it('says which ids could not be terminated and exits 1: one unknown, one already ended; the live one is ended', async () => {
    const { SessionId: live } = await ssm.send(new StartSessionCommand({ Target: TARGET }));
    const mixed = await ssmx(['terminate', live!, 'nosuch-session']);
    expect(mixed.stdout).toBe(`terminated ${live}\n`);
    expect(mixed.stderr).toBe('ssmx: error: nosuch-session: no such session in this account and region (DescribeSessions knows none by that id)\n');
    expect(mixed.code).toBe(1);
    const history = await ssm.send(new DescribeSessionsCommand({ State: 'History', Filters: [{ key: 'SessionId', value: live! }] }));
    expect(history.Sessions?.[0]?.Status).toBe('Terminated');

    const again = await ssmx(['terminate', live!]);
    expect(again.stdout).toBe('');
    expect(again.stderr).toBe(`ssmx: error: ${live}: the session had already ended (Terminated)\n`);
    expect(again.code).toBe(1);
  });

  it('every id ended: exit 0', async () => {
    const ids = await Promise.all([1, 2].map(async () => (await ssm.send(new StartSessionCommand({ Target: TARGET }))).SessionId!));
    const result = await ssmx(['terminate', ...ids]);
    expect(result.stdout).toBe(ids.map((id) => `terminated ${id}\n`).join(''));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });
});
