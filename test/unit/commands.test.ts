import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { inProcessEmulator, runInProcess, ssmxInProcess, testEnv } from '../support/in-process.js';

// Every command run inside the test's process through main(), with test streams, its own
// environment and fake signals: the parsing and the error paths, nothing spawned.

let emulator: RunningEmulator;
let env: NodeJS.ProcessEnv;
const noRegion = () => {
  const { AWS_REGION: _region, ...rest } = env;
  return rest;
};

beforeAll(async () => {
  // The SDK falls back on the process's own environment for a region; the test's must decide.
  delete process.env.AWS_REGION;
  delete process.env.AWS_DEFAULT_REGION;
  ({ emulator, env } = await inProcessEmulator());
});
afterAll(() => emulator.close());

describe('the command line, in-process', () => {
  it('an unknown command or option is a usage error (2) on stderr', async () => {
    const run = await runInProcess(['frobnicate'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/unknown command 'frobnicate'/);
    expect((await runInProcess(['list', '--bogus'], env)).status).toBe(2);
  });

  it('--reconnect-timeout is checked as the command line is read', async () => {
    const run = await runInProcess(['--reconnect-timeout', 'soon', 'list'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--reconnect-timeout must be 0 to 86400 seconds, not soon/);
  });

  it('--version prints the version', async () => {
    const run = await runInProcess(['--version'], env);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});

describe('ssmx forward, in-process', () => {
  it('a bad spec is a usage error, before anything listens', async () => {
    const run = await runInProcess(['forward', 'i-0123456789abcdef0', '70000'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/ssmx: error: .*70000/);
    expect(run.stdout).toBe('');
  });

  it('a bad --sessions is a usage error, read with the command line (no AWS client made)', async () => {
    for (const bad of ['0', '65', 'many', '1.5']) {
      const run = await runInProcess(['forward', 'i-0123456789abcdef0', '5432', '--sessions', bad], noRegion());
      expect(run.status, bad).toBe(2);
      expect(run.stderr).toContain(`--sessions must be 1 to 64, not ${bad}`);
    }
  });

  it('no spec and no alias is a usage error with an example', async () => {
    const run = await runInProcess(['forward', 'i-0123456789abcdef0'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no port spec given[\s\S]*hint: for example: ssmx forward/);
  });

  it('an unknown target is a target error (4)', async () => {
    const run = await runInProcess(['forward', 'no-such-name', '0:5432'], env);
    expect(run.status).toBe(4);
    expect(run.stderr).toMatch(/no-such-name/);
  });

  it('no region anywhere is a usage error (2) with the hint', async () => {
    const run = await runInProcess(['forward', 'web', '0:5432'], noRegion());
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no AWS region is set[\s\S]*hint: pass --region/);
  });

  it('forwards bytes through the in-process emulator, and Ctrl-C (a fake SIGINT) ends it with 0', async () => {
    const echo: Server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const cli = ssmxInProcess(['forward', 'i-0123456789abcdef0', `0:${(echo.address() as AddressInfo).port}`, '--sessions', '1', '--json'], env);
    try {
      const line = await new Promise<string>((resolve) => {
        const check = () => (cli.stdout().includes('\n') ? resolve(cli.stdout()) : setTimeout(check, 10));
        check();
      });
      const { localPort } = JSON.parse(line) as { localPort: number };
      const socket = connect(localPort, '127.0.0.1');
      const echoed = await new Promise<string>((resolve) => {
        socket.once('data', (data) => resolve(data.toString()));
        socket.write('ping');
      });
      expect(echoed).toBe('ping');
      socket.destroy();
      cli.signals.send('SIGINT');
      const run = await cli.result;
      expect(run.status).toBe(0);
      expect(cli.signals.listening).toBe(0);
    } finally {
      echo.close();
    }
  });
});

describe('ssmx shell, run, proxy and exec, in-process', () => {
  it('shell: an unknown target is a target error (4); no region is a usage error (2)', async () => {
    expect((await runInProcess(['shell', 'no-such-name'], env)).status).toBe(4);
    expect((await runInProcess(['shell', 'web'], noRegion())).status).toBe(2);
  });

  it('shell: no target off a terminal is a usage error: there is no one to pick', async () => {
    const run = await runInProcess(['shell'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no target given/);
  });

  it('shell: --parameters that are not JSON are a usage error', async () => {
    const run = await runInProcess(['shell', 'i-0123456789abcdef0', '--parameters', '{nope'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--parameters is not valid JSON/);
  });

  it('run: no command is a usage error; an unknown target is a target error', async () => {
    expect((await runInProcess(['run', 'i-0123456789abcdef0'], env)).stderr).toMatch(/no command given/);
    expect((await runInProcess(['run', 'no-such-name', '--', 'true'], env)).status).toBe(4);
  });

  it('proxy: a bad port is a usage error; an unknown target a target error', async () => {
    const bad = await runInProcess(['proxy', 'i-0123456789abcdef0', '99999'], env);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/port must be 1 to 65535/);
    expect(bad.stdout).toBe('');
    expect((await runInProcess(['proxy', 'no-such-name.ssmx', '22'], env)).status).toBe(4);
  });

  it('exec: a cluster ECS does not have is a target error', async () => {
    const run = await runInProcess(['exec', 'no-such-cluster', '0123456789abcdef0123456789abcdef'], env);
    expect(run.status).toBe(4);
  });
});

describe('the other commands, in-process', () => {
  it('list: a JSON array of the instances; no region is a usage error', async () => {
    const run = await runInProcess(['list', '--json'], env);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ id: 'i-0123456789abcdef0', name: 'demo' })]);
    expect((await runInProcess(['list'], noRegion())).status).toBe(2);
  });

  it('setup --print shows the document without calling AWS', async () => {
    const run = await runInProcess(['setup', '--print'], noRegion());
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ sessionType: 'NonInteractiveCommands' });
  });

  it('completion: an unknown shell is a usage error', async () => {
    const run = await runInProcess(['completion', 'tcsh'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no completion for tcsh/);
    expect((await runInProcess(['completion', 'bash'], env)).stdout).toMatch(/complete /);
  });

  it('ssh-config: Host blocks with the user; ssh: a destination that is an option is refused', async () => {
    const config = await runInProcess(['--region', 'eu-west-1', 'ssh-config', '--user', 'admin'], env);
    expect(config.stdout).toMatch(/User admin[\s\S]*ProxyCommand .*--region eu-west-1 proxy %h %p/);
    const ssh = await runInProcess(['ssh', '--', '-v'], env);
    expect(ssh.status).toBe(2);
  });

  it('plugin: --version prints the plugin-style version; a response that is not JSON is refused', async () => {
    expect((await runInProcess(['plugin', '--version'], env)).stdout).toMatch(/^\d+\.\d+\.\d+\.\d+\n$/);
    // The response on the command line: the failure is said, and the status is 0 so that the AWS
    // CLI does not print that command line (see pluginCommand).
    const bad = await runInProcess(['plugin', '{not json', 'us-east-1', 'StartSession', '', '{"Target":"i-1"}', 'http://127.0.0.1:1'], env);
    expect(bad.status).toBe(0);
    expect(bad.stderr).toMatch(/not valid JSON/);
    const badEnv = await runInProcess(['plugin', 'AWS_SSM_START_SESSION_RESPONSE', 'us-east-1', 'StartSession', '', '{"Target":"i-1"}', 'http://127.0.0.1:1'], { ...env, AWS_SSM_START_SESSION_RESPONSE: '{not json' });
    expect(badEnv.status).toBe(2);
  });

  it('install-plugin: another program of that name is left alone without --force', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-install-'));
    writeFileSync(join(dir, 'session-manager-plugin'), '#!/bin/sh\necho official\n', { mode: 0o755 });
    const run = await runInProcess(['install-plugin', dir], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/exists and is another program/);
  });

  it('emulator: a bad --agent-version or --port is a usage error', async () => {
    expect((await runInProcess(['emulator', '--agent-version', 'three'], env)).stderr).toMatch(/--agent-version must look like/);
    expect((await runInProcess(['emulator', '--port', '70000'], env)).status).toBe(2);
  });

  it('demo: takes no arguments', async () => {
    expect((await runInProcess(['demo', 'extra'], env)).status).toBe(2);
  });
});
