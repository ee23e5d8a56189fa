// @module-tag needs-node-pty
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { freePort } from '../support/redis.js';
import { runProgram } from '../support/run.js';

// Issue 14: a VPC interface endpoint for ssmmessages without private DNS. The service's StreamUrl
// names a host the client cannot reach (here: a port nobody listens on); AWS_ENDPOINT_URL_SSMMESSAGES
// or --ssmmessages-endpoint says where the data channel really is.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;

beforeAll(async () => {
  emulator = await startEmulatorProcess(['--public-endpoint', `http://127.0.0.1:${await freePort()}`]);
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[], extra: NodeJS.ProcessEnv = {}) => runProgram(process.execPath, [ssmxBin, ...args], { env: { ...emulator.env, ...extra }, input: '', timeoutMs: 30_000 });

describe('the data channel somewhere else than the StreamUrl says', () => {
  it('as given, the StreamUrl cannot be reached', async () => {
    const result = await ssmx(['run', TARGET, '--', 'echo no']);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/cannot open the data channel/);
  });

  it('AWS_ENDPOINT_URL_SSMMESSAGES replaces its scheme, host and port', async () => {
    const result = await ssmx(['run', TARGET, '--', 'echo by-variable'], { AWS_ENDPOINT_URL_SSMMESSAGES: emulator.info.endpoint });
    expect(result.stdout).toBe('by-variable\n');
    expect(result.code).toBe(0);
  });

  it('--ssmmessages-endpoint does the same', async () => {
    const result = await ssmx(['--ssmmessages-endpoint', emulator.info.endpoint, 'run', TARGET, '--', 'echo by-flag']);
    expect(result.stdout).toBe('by-flag\n');
    expect(result.code).toBe(0);
  });
});
