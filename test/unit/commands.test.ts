// @module-tag needs-python3
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
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

describe('defects from the hands-on review, in-process', () => {
  it('a profile that does not exist is said so, with no SDK warning, even with keys in the environment', async () => {
    const run = await runInProcess(['--profile', 'nosuch', 'ls'], env);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^ssmx: error: the config profile \(nosuch\) could not be found\nhint: aws configure list-profiles/);
    expect(run.stderr).not.toMatch(/Multiple credential sources|no usable AWS credentials/);
  });

  it('parser errors carry the ssmx: prefix', async () => {
    expect((await runInProcess(['frobnicate'], env)).stderr).toMatch(/^ssmx: error: unknown command 'frobnicate'/);
  });

  it('the config file: unknown keys are warned about with the nearest known key; a missing SSMX_CONFIG file is said plainly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-config-'));
    mkdirSync(join(dir, 'ssmx'));
    writeFileSync(join(dir, 'ssmx', 'config.json'), JSON.stringify({ regoin: 'eu-west-1', aliases: { a: { target: 'i-0123456789abcdef0', profle: 'p' } } }));
    const run = await runInProcess(['ls'], { ...env, XDG_CONFIG_HOME: dir });
    expect(run.stderr).toContain('ssmx: warning: config file: "regoin": did you mean "region"?');
    expect(run.stderr).toContain('ssmx: warning: config file: "aliases.a.profle": did you mean "profile"?');
    const missing = await runInProcess(['ls'], { ...env, SSMX_CONFIG: join(dir, 'nope.json') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/the config file .*nope\.json that SSMX_CONFIG names does not exist/);
    expect(missing.stderr).not.toMatch(/ENOENT/);
  });

  it('a tag filter with no key or no value is a usage error, not "no match"', async () => {
    for (const filter of ['tag:Env', 'tag:=x']) {
      const run = await runInProcess(['ls', '--filter', filter], env);
      expect(run.status, filter).toBe(2);
      expect(run.stderr).toContain(`${filter} is not a tag filter: it needs a key and a value`);
    }
  });

  it('a 5,000-character target is not echoed back in full', async () => {
    const run = await runInProcess(['shell', 'x'.repeat(5000)], env);
    expect(run.status).toBe(4);
    expect(run.stderr.length).toBeLessThan(600);
  });

  it('two specs for one local port fail before anything listens; --bind to an address this machine lacks gets the right hint', async () => {
    const twice = await runInProcess(['forward', 'i-0123456789abcdef0', '15432:5432', '15432:6379'], env);
    expect(twice.status).toBe(2);
    expect(twice.stderr).toMatch(/15432:5432 and 15432:6379 both listen on local port 15432/);
    expect(twice.stderr).not.toMatch(/forwarding/);
    const elsewhere = await runInProcess(['forward', 'i-0123456789abcdef0', '0:5432', '--bind', '10.9.9.9', '--sessions', '1'], env);
    expect(elsewhere.status).toBe(2);
    expect(elsewhere.stderr).toMatch(/10\.9\.9\.9 is not an address of this machine[\s\S]*hint: --bind takes one of this machine's addresses/);
  });

  it('Unix socket specs: too long a path and a missing directory are refused clearly; a stale socket file is replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ssmx-sock-'));
    const long = await runInProcess(['forward', 'i-0123456789abcdef0', `${dir}/${'s'.repeat(120)}.sock:5432`], env);
    expect(long.status).toBe(2);
    expect(long.stderr).toMatch(/bytes, longer than this system takes \(107\)/);
    const missing = await runInProcess(['forward', 'i-0123456789abcdef0', `${dir}/no/such/dir/db.sock:5432`], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/the directory .*no\/such\/dir does not exist/);
    // A socket file a crashed run left: bound, never closed, nothing listening.
    const stale = `${dir}/stale.sock`;
    execFileSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(stale)})`]);
    const echo: Server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const cli = ssmxInProcess(['forward', 'i-0123456789abcdef0', `${stale}:${(echo.address() as AddressInfo).port}`, '--sessions', '1', '--json'], env);
    try {
      await waitForLine(cli);
      const socket = connect(stale);
      const echoed = await new Promise<string>((resolve) => {
        socket.once('data', (data) => resolve(data.toString()));
        socket.write('through a replaced socket');
      });
      expect(echoed).toBe('through a replaced socket');
      socket.destroy();
    } finally {
      cli.signals.send('SIGINT');
      expect((await cli.result).status).toBe(0);
      echo.close();
    }
  });

  it('forward: the JSON line has the resolved instance id, the status line the session ids; -v lines are not labelled debug', async () => {
    const echo: Server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const cli = ssmxInProcess(['-v', 'forward', 'demo', `0:${(echo.address() as AddressInfo).port}`, '--sessions', '1', '--json'], env);
    try {
      const line = JSON.parse(await waitForLine(cli)) as { instanceId: string; sessions: string[] };
      expect(line.instanceId).toBe('i-0123456789abcdef0');
      expect(cli.stderr()).toContain(`(multiplexed): ${line.sessions[0]}`);
      expect(cli.stderr()).toContain('ssmx: demo is i-0123456789abcdef0');
      expect(cli.stderr()).not.toContain('debug:');
    } finally {
      cli.signals.send('SIGINT');
      await cli.result;
      echo.close();
    }
  });

  it('ssh-config --user root: the comments show root\'s blocks, with no ec2-user in them', async () => {
    const run = await runInProcess(['ssh-config', '--user', 'root'], env);
    expect(run.stdout).toMatch(/User root/);
    expect(run.stdout).not.toContain('ec2-user');
  });
});

/** The first line a forward prints on stdout. */
function waitForLine(cli: ReturnType<typeof ssmxInProcess>): Promise<string> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (cli.stdout().includes('\n')) return resolve(cli.stdout().split('\n')[0]!);
      if (Date.now() - started > 10_000) return reject(new Error(`no line: ${cli.stderr()}`));
      setTimeout(check, 10);
    };
    check();
  });
}

describe('ssmx sessions and ssmx terminate, in-process', () => {
  it('lists the caller\'s active sessions (everyone\'s with --all) and ends them', async () => {
    const { SSMClient, StartSessionCommand } = await import('@aws-sdk/client-ssm');
    const other = { accessKeyId: 'AKIAOTHERUSER0000001', secretAccessKey: 'other-secret' };
    const own = await inProcessEmulator((config) => config.principals.push(other));
    const ssmAs = (keys: { accessKeyId: string; secretAccessKey: string }) => new SSMClient({ region: own.config.region, endpoint: own.emulator.endpoint, credentials: keys });
    try {
      const mine = await ssmAs({ accessKeyId: own.config.accessKeyId, secretAccessKey: own.config.secretAccessKey }).send(new StartSessionCommand({ Target: 'i-0123456789abcdef0' }));
      const theirs = await ssmAs(other).send(new StartSessionCommand({ Target: 'i-0123456789abcdef0' }));
      const listed = await runInProcess(['sessions', '--json'], own.env);
      expect(listed.status).toBe(0);
      const sessions = JSON.parse(listed.stdout) as Array<{ sessionId: string; target: string; owner: string }>;
      expect(sessions.map((s) => s.sessionId)).toEqual([mine.SessionId]);
      expect(sessions[0]).toMatchObject({ target: 'i-0123456789abcdef0', owner: 'arn:aws:iam::123456789012:user/ssmx-emulator' });
      const all = await runInProcess(['sessions', '--all'], own.env);
      expect(all.stdout).toMatch(/^SESSION\s+TARGET\s+DOCUMENT\s+STARTED\s+STATUS\s+OWNER/);
      expect(all.stdout).toContain(theirs.SessionId!);
      const ended = await runInProcess(['terminate', mine.SessionId!], own.env);
      expect(ended.stdout).toBe(`terminated ${mine.SessionId}\n`);
      expect(JSON.parse((await runInProcess(['sessions', '--json'], own.env)).stdout)).toEqual([]);
      expect((await runInProcess(['terminate'], own.env)).status).toBe(2);
    } finally {
      await own.emulator.close();
    }
  });
});

describe('ssmx list columns, in-process', () => {
  it('--columns with type, state and tags; --sort; an unknown column is a usage error; the default table is as it was', async () => {
    const own = await inProcessEmulator((config) => {
      config.instances = [
        { ...config.instances[0]!, id: 'i-0aaaaaaaaaaaaaaa1', name: 'web-2', tags: { Env: 'prod', Role: 'web' } },
        { ...config.instances[0]!, id: 'i-0aaaaaaaaaaaaaaa2', name: 'web-10', agentVersion: '3.3.40.0', tags: { Env: 'dev' } },
      ];
    });
    try {
      const table = await runInProcess(['list', '--columns', 'name,type,state,tags', '--sort', 'name'], own.env);
      expect(table.status).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^NAME\s+TYPE\s+STATE\s+TAGS$/);
      // Numbers in names sort as numbers: web-2 before web-10.
      expect(lines[1]).toMatch(/^web-2\s+t3\.micro\s+running\s+Env=prod,Role=web$/);
      expect(lines[2]).toMatch(/^web-10\s+t3\.micro\s+running\s+Env=dev$/);
      const all = await runInProcess(['list', '--columns', 'all'], own.env);
      expect(all.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+IP\s+PLATFORM\s+AGENT\s+PING\s+TYPE\s+STATE\s+TAGS$/);
      expect((await runInProcess(['list'], own.env)).stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+IP\s+PLATFORM\s+AGENT\s+PING$/);
      const bad = await runInProcess(['list', '--columns', 'name,colour'], own.env);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(/unknown column colour/);
      const json = JSON.parse((await runInProcess(['list', '--json'], own.env)).stdout) as Array<{ instanceType: string; state: string; tags: Record<string, string> }>;
      expect(json[0]).toMatchObject({ instanceType: 't3.micro', state: 'running', tags: { Env: 'prod', Role: 'web' } });
    } finally {
      await own.emulator.close();
    }
  });
});

describe('completion of targets, in-process', () => {
  it('aliases, Name tags and ids; then from the cache (0600) for a minute, even with AWS gone', async () => {
    const own = await inProcessEmulator();
    const home = mkdtempSync(join(tmpdir(), 'ssmx-cache-'));
    mkdirSync(join(home, 'config', 'ssmx'), { recursive: true });
    writeFileSync(join(home, 'config', 'ssmx', 'config.json'), JSON.stringify({ aliases: { 'prod-db': { target: 'i-0123456789abcdef0' } } }));
    const envWithCache = { ...own.env, XDG_CACHE_HOME: join(home, 'cache'), XDG_CONFIG_HOME: join(home, 'config') };
    const first = await runInProcess(['__targets'], envWithCache);
    expect(first.stdout.split('\n').filter(Boolean)).toEqual(['prod-db', 'demo', 'i-0123456789abcdef0']);
    const [file] = readdirSync(join(home, 'cache', 'ssmx'));
    expect(statSync(join(home, 'cache', 'ssmx', file!)).mode & 0o777).toBe(0o600);
    await own.emulator.close();
    const cached = await runInProcess(['__targets'], envWithCache);
    expect(cached.stdout).toBe(first.stdout);
    // No cache and no AWS: the aliases still, status 0 and nothing on stderr.
    const cold = await runInProcess(['__targets'], { ...envWithCache, XDG_CACHE_HOME: join(home, 'other-cache') });
    expect([cold.status, cold.stdout, cold.stderr]).toEqual([0, 'prod-db\n', '']);
  });
});

describe('all-day tunnels: connections made before a session is ready', () => {
  it('are held until the pool is ready, not reset (StartSession slowed by throttling)', async () => {
    const own = await inProcessEmulator((config) => (config.throttle = 2));
    const echo: Server = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const cli = ssmxInProcess(['forward', 'i-0123456789abcdef0', `${port}:${(echo.address() as AddressInfo).port}`, '--sessions', '1'], own.env);
    try {
      // Connect the moment the port accepts, as a script does.
      const socket = await new Promise<Socket>((resolve) => {
        const attempt = () => {
          const candidate = connect(port, '127.0.0.1');
          candidate.once('connect', () => resolve(candidate));
          candidate.once('error', () => setTimeout(attempt, 5));
        };
        attempt();
      });
      // The pool was not ready yet when the connection came: the case this test is about.
      expect(cli.stderr()).not.toContain('forwarding');
      const echoed = await new Promise<string>((resolve, reject) => {
        socket.once('data', (data) => resolve(data.toString()));
        socket.once('close', () => reject(new Error('the early connection was closed')));
        socket.write('early bird');
      });
      expect(echoed).toBe('early bird');
      socket.destroy();
    } finally {
      cli.signals.send('SIGINT');
      expect((await cli.result).status).toBe(0);
      echo.close();
      await own.emulator.close();
    }
  });
});
