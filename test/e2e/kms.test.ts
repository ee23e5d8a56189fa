// @module-tag needs-node-pty
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { hashClient, startHashServer } from '../support/hash-server.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

const TARGET = 'i-0123456789abcdef0';
const BAD_CHALLENGE = 'i-0bad000000000bad0';
const PROMPT = 'ssmx-kms$ ';

let emulator: EmulatorProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess([
    '--kms-key-id', 'alias/ssm-sessions',
    '--agent-pacing', 'off',
    '--instance', TARGET,
    '--instance', `${BAD_CHALLENGE}=bad:bad-challenge`,
    '--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`,
  ]);
});
afterAll(async () => {
  await emulator?.stop();
});

describe('KMS-encrypted sessions (the emulator asks for KMSEncryption on every session)', () => {
  it('a shell: the data key from KMS, the challenge passed, typed input and output encrypted', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell', TARGET], { env: emulator.env });
    await term.waitFor(PROMPT, { timeoutMs: 15_000 });
    expect(term.output()).toContain('This session is encrypted using AWS KMS.');
    const mark = term.output().length;
    term.write('echo kms-$((6*7))\r');
    await term.waitFor(/kms-42\r\n/, { from: mark });
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });

  it('a 16 MiB forward each way arrives whole (the agent does not encrypt a Port session: sessionplugin.go isEncryptionEnabled)', async () => {
    const server = await startHashServer(16 << 20);
    const forward = await startForward(emulator.env, [TARGET, `0:${server.port}`, '--sessions', '2']);
    const client = await hashClient(forward.listeners[0]!.localPort!, 16 << 20, 16 << 20);
    const seen = await server.results[0]!;
    expect(client.receivedSha256).toBe(seen.sentSha256);
    expect(seen.receivedSha256).toBe(client.sentSha256);
    expect(await forward.stop()).toBe(0);
    await server.close();
  }, 60_000);

  it('ECS Exec, encrypted: the data key is bound to the ecs:<cluster>_<task>_<runtime id> target DescribeTasks gives', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, 'exec', 'demo', '0123456789abcdef0123456789abcdef', '--', 'echo ecs-$((6*7))'], { env: emulator.env, input: '', timeoutMs: 20_000 });
    expect(result.stdout).toContain('ecs-42');
    expect(result.stderr).toContain('This session is encrypted using AWS KMS.');
    expect(result.code).toBe(0);
  });

  it('--debug shows the KMS and DescribeTasks calls but never the data key', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, '--debug', 'exec', 'demo', '0123456789abcdef0123456789abcdef', '--', 'echo debugged'], { env: emulator.env, input: '', timeoutMs: 20_000 });
    expect(result.stdout).toContain('debugged');
    expect(result.stderr).toMatch(/debug: kms GenerateDataKeyCommand answered in \d+ ms: .*"Plaintext":"\[redacted\]"/);
    expect(result.stderr).toMatch(/"CiphertextBlob":"\[\d+ bytes\]"/);
    expect(result.stderr).toMatch(/debug: ecs DescribeTasksCommand/);
    // Neither as base64 nor as the byte-by-byte map JSON makes of a Uint8Array.
    expect(result.stderr).not.toMatch(/[A-Za-z0-9+/=]{40,}|"0":\d+,"1":\d+/);
  });

  it('a failed challenge ends the session with a clear error (6)', async () => {
    const result = await runProgram(process.execPath, [ssmxBin, 'shell', BAD_CHALLENGE], { env: emulator.env, timeoutMs: 15_000 });
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/the agent's encryption challenge failed/);
  });

  it('a key KMS does not have ends the session with a clear error (6)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-kms-'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ kmsKeyId: 'alias/gone', kmsKeys: ['alias/other'] }));
    const other = await startEmulatorProcess(['--config', join(dir, 'config.json')]);
    try {
      const result = await runProgram(process.execPath, [ssmxBin, 'shell', TARGET], { env: other.env, timeoutMs: 15_000 });
      expect(result.code).toBe(6);
      expect(result.stderr).toMatch(/KMS GenerateDataKey for alias\/gone failed: .*Key 'alias\/gone' does not exist/);
    } finally {
      await other.stop();
    }
  });
});
