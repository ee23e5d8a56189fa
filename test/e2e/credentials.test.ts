// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, ssmxBin, startEmulatorProcess, type EmulatorProcess } from '../support/emulator.js';

let emulator: EmulatorProcess;
let dir: string;

beforeAll(async () => {
  emulator = await startEmulatorProcess();
  dir = mkdtempSync(join(tmpdir(), 'ssmx-creds-'));
  const { info } = emulator;
  writeFileSync(join(dir, 'config'), `[profile emu]\nregion = ${info.region}\n`);
  writeFileSync(join(dir, 'credentials'), `[emu]\naws_access_key_id = ${info.accessKeyId}\naws_secret_access_key = ${info.secretAccessKey}\n`);
});
afterAll(async () => {
  await emulator?.stop();
});

function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [ssmxBin, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  child.stdin.end('echo answered-$((3*3))\n');
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

describe('credentials, region and endpoint come from the standard places', () => {
  it('--profile reads the shared credentials and config files (region from the profile)', async () => {
    const env = isolatedEnv({ AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') });
    const result = await run(['--profile', 'emu', '--endpoint-url', emulator.info.endpoint, 'shell', 'i-0123456789abcdef0'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/answered-9/);
  });

  it('AWS_PROFILE and AWS_ENDPOINT_URL_SSM work as the flags do', async () => {
    const env = isolatedEnv({
      AWS_CONFIG_FILE: join(dir, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'),
      AWS_PROFILE: 'emu',
      AWS_ENDPOINT_URL_SSM: emulator.info.endpoint,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    });
    const result = await run(['shell', 'i-0123456789abcdef0'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/answered-9/);
  });

  it('--region on the command line wins over the environment', async () => {
    const result = await run(['--region', 'eu-north-1', 'shell', 'i-0123456789abcdef0'], emulator.env);
    // The emulator serves one region: a request signed for another is refused, so the flag was used.
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/scoped to a valid region/);
  });

  it('no region anywhere is a usage error with a hint', async () => {
    const env = isolatedEnv({ AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', AWS_ENDPOINT_URL: emulator.info.endpoint });
    const result = await run(['shell', 'i-0123456789abcdef0'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^ssmx: error: no AWS region is set\nhint: pass --region/);
  });

  it('no credentials anywhere is a credentials error (exit 3) that says what to do', async () => {
    const env = isolatedEnv({ AWS_REGION: emulator.info.region, AWS_ENDPOINT_URL: emulator.info.endpoint });
    const result = await run(['shell', 'i-0123456789abcdef0'], env);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^ssmx: error: no usable AWS credentials/);
    expect(result.stderr).toMatch(/aws sso login/);
  });
});
