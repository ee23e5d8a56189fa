// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSessionsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isolatedEnv, startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { startForward } from '../support/forward.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

const DEMO = 'i-0123456789abcdef0';
const WEB_EC2 = 'i-0aaaaaaaaaaaaaaa1';
const WEB_MANAGED = 'mi-0bbbbbbbbbbbbbbb2';
const DB = 'i-0ccccccccccccccc3';
const DENIED_KEY = 'AKIAEMULATORDENIED01';
const EXPIRED_KEY = 'AKIAEMULATOREXPIRED1';
const TOKEN_KEY = 'ASIAEMULATORTOKEN001';
const TOKEN_SECRET = 'token-principal-secret-0123456789';
const SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLESESSIONTOKENvalue0123456789abcdefghijklmnopqrstuvwxyz';
const TASK = '0123456789abcdef0123456789abcdef';
const PROMPT = 'ssmx-targets$ ';

let dir: string;
let emulator: EmulatorProcess;

function writeConfig(name: string, extra: object = {}): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    JSON.stringify({
      instances: [
        { id: DEMO, name: 'demo' },
        { id: WEB_EC2, name: 'web-1' },
        { id: WEB_MANAGED, name: 'web-1' },
        { id: DB, name: 'db', tags: { Env: 'prod', Role: 'db' } },
        { id: 'i-0ddddddddddddddd4', name: 'old', pingStatus: 'ConnectionLost' },
      ],
      ecsTasks: [
        { cluster: 'demo', taskId: TASK, containers: [{ name: 'app', runtimeId: `${TASK}-1` }] },
        { cluster: 'demo', taskId: 'ffffffffffffffffffffffffffffffff', containers: [{ name: 'app', runtimeId: 'f-1' }, { name: 'sidecar', runtimeId: 'f-2' }] },
      ],
      principals: [
        { accessKeyId: DENIED_KEY, secretAccessKey: 'denied-secret', deny: ['ssm:StartSession'] },
        { accessKeyId: EXPIRED_KEY, secretAccessKey: 'expired-secret', expired: true },
        { accessKeyId: TOKEN_KEY, secretAccessKey: TOKEN_SECRET, sessionToken: SESSION_TOKEN },
      ],
      ...extra,
    }),
  );
  return path;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssmx-targets-'));
  emulator = await startEmulatorProcess(['--config', writeConfig('emulator.json'), '--shell', `PS1='${PROMPT}' exec bash --norc --noprofile`]);
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) =>
  runProgram(process.execPath, [ssmxBin, ...args], { env: options.env ?? emulator.env, input: options.input ?? '', timeoutMs: 20_000 });

async function activeTargets(): Promise<string[]> {
  const { info } = emulator;
  const ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
  const active = await ssm.send(new DescribeSessionsCommand({ State: 'Active' }));
  ssm.destroy();
  return (active.Sessions ?? []).map((s) => s.Target!);
}

describe('targets', () => {
  it('every form resolves: instance id, managed-instance id, Name tag, tag:Key=Value', async () => {
    for (const [target, id] of [[DEMO, DEMO], [WEB_MANAGED, WEB_MANAGED], ['demo', DEMO], ['tag:Role=db', DB]] as const) {
      const result = await ssmx(['--verbose', 'run', target, '--', 'echo resolved']);
      expect(result.stdout, target).toContain('resolved');
      expect(result.code).toBe(0);
      if (target !== id) expect(result.stderr).toContain(`${target} is ${id}`);
    }
  });

  it('an ambiguous name off a terminal is an error that lists the matches', async () => {
    const result = await ssmx(['shell', 'web-1']);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`2 online managed instances are named web-1: ${WEB_EC2}, ${WEB_MANAGED}`);
  });

  it('an offline instance and an unknown tag say so (exit 4)', async () => {
    const offline = await ssmx(['shell', 'old']);
    expect(offline.code).toBe(4);
    expect(offline.stderr).toMatch(/no managed instance named old is online: i-0ddddddddddddddd4 \(ConnectionLost\)/);
    // By id: offline is said apart from unknown (the service says TargetNotConnected for both).
    const byId = await ssmx(['shell', 'i-0ddddddddddddddd4']);
    expect(byId.code).toBe(4);
    expect(byId.stderr).toMatch(/i-0ddddddddddddddd4 is not connected \(ping status ConnectionLost/);
    const unknown = await ssmx(['shell', 'tag:Env=nowhere']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toMatch(/no managed instance is tagged Env=nowhere/);
  });

  it('the picker in a real terminal: arrow down and Enter pick the second match', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell', 'web-1'], { env: emulator.env });
    await term.waitFor('pick one');
    await term.waitFor(WEB_MANAGED);
    term.write('\x1b[B');
    await new Promise((resolve) => setTimeout(resolve, 100));
    term.write('\r');
    await term.waitFor(PROMPT, { timeoutMs: 15_000 });
    expect(await activeTargets()).toContain(WEB_MANAGED);
    term.write('exit\r');
    expect((await term.exited).exitCode).toBe(0);
  });

  it('no target on a terminal: the picker over every managed instance; Esc cancels (exit 2)', async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'shell'], { env: emulator.env });
    await term.waitFor('Pick an instance');
    const shown = await term.waitFor('old');
    for (const id of [DEMO, WEB_EC2, WEB_MANAGED, DB]) expect(shown).toContain(id);
    expect(shown).toMatch(/NAME\s+ID\s+IP\s+PLATFORM\s+AGENT\s+PING/);
    term.write('\x1b');
    const { exitCode } = await term.exited;
    expect(exitCode).toBe(2);
    expect(term.output()).toContain('nothing was picked');
  });
});

describe('ssmx list', () => {
  it('a table for people, JSON for scripts, --filter by tag or name', async () => {
    const table = await ssmx(['list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ID\s+IP\s+PLATFORM\s+AGENT\s+PING$/);
    expect(table.stdout).toMatch(new RegExp(`db\\s+${DB}\\s+127\\.0\\.0\\.1\\s+Debian GNU/Linux\\s+3\\.3\\.1142\\.0\\s+Online`));
    const json = JSON.parse((await ssmx(['ls', '--json'])).stdout) as Array<{ id: string; name: string; pingStatus: string }>;
    expect(json.map((i) => i.id).sort()).toEqual([DEMO, WEB_EC2, DB, 'i-0ddddddddddddddd4', WEB_MANAGED].sort());
    expect(json.find((i) => i.id === 'i-0ddddddddddddddd4')?.pingStatus).toBe('ConnectionLost');
    const byTag = JSON.parse((await ssmx(['list', '--filter', 'tag:Env=prod', '--json'])).stdout) as Array<{ id: string }>;
    expect(byTag.map((i) => i.id)).toEqual([DB]);
    const byGlob = JSON.parse((await ssmx(['list', '--filter', 'web-*', '--json'])).stdout) as Array<{ id: string }>;
    expect(byGlob.map((i) => i.id).sort()).toEqual([WEB_EC2, WEB_MANAGED].sort());
  });
});

describe('ssmx exec (ECS Exec)', () => {
  it('runs a command in the container with the shell engine', async () => {
    const result = await ssmx(['exec', 'demo', TASK, '-q', '--', 'echo in-the-container']);
    expect(result.stdout).toContain('in-the-container');
    expect(result.code).toBe(0);
  });

  it('an interactive /bin/sh by default; a task ARN works as well', async () => {
    const arn = `arn:aws:ecs:us-east-1:123456789012:task/demo/${TASK}`;
    const result = await ssmx(['exec', 'demo', arn, '-q'], { input: 'echo sh-$((6*7))\nexit\n' });
    expect(result.stdout).toContain('sh-42');
    expect(result.code).toBe(0);
  });

  it('errors: an unknown cluster (4), a task with several containers and no --container (2)', async () => {
    const cluster = await ssmx(['exec', 'nope', TASK]);
    expect(cluster.code).toBe(4);
    expect(cluster.stderr).toMatch(/the ECS cluster nope was not found in this account and region/);
    const several = await ssmx(['exec', 'demo', 'ffffffffffffffffffffffffffffffff']);
    expect(several.code).toBe(2);
    expect(several.stderr).toMatch(/the task f{32} has several containers; its containers: app, sidecar/);
    const wrong = await ssmx(['exec', 'demo', 'ffffffffffffffffffffffffffffffff', '--container', 'nosuch']);
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/has no container nosuch; its containers: app, sidecar/);
    const sidecar = await ssmx(['exec', 'demo', 'ffffffffffffffffffffffffffffffff', '--container', 'sidecar', '-q', '--', 'echo sidecar-ok']);
    expect(sidecar.stdout).toContain('sidecar-ok');
  });
});

describe('ssmx run and ssmx setup', () => {
  it('without the document: says so, output combined, status 0; after setup: streams apart, the remote status', async () => {
    const before = await ssmx(['run', 'demo', '--', 'echo out; echo err >&2; exit 3']);
    expect(before.stderr).toMatch(/no SSMX-RunCommand document \(ssmx setup creates it\)/);
    expect(before.stdout).toContain('out');
    expect(before.stdout).toContain('err');
    expect(before.code).toBe(0);

    const printed = await ssmx(['setup', '--print']);
    expect(JSON.parse(printed.stdout)).toMatchObject({ schemaVersion: '1.0', sessionType: 'NonInteractiveCommands' });
    const setup = await ssmx(['setup']);
    expect(setup.stdout).toMatch(/created the session document SSMX-RunCommand/);
    expect((await ssmx(['setup'])).stdout).toMatch(/already exists/);

    const after = await ssmx(['run', 'demo', '--', 'echo out; echo err >&2; exit 3']);
    expect(after.stdout).toBe('out\n');
    expect(after.stderr).toBe('err\n');
    expect(after.code).toBe(3);
  });
});

describe('credentials, errors and output conventions', () => {
  const withKey = (accessKeyId: string, secretAccessKey: string, extra: NodeJS.ProcessEnv = {}) => ({ ...emulator.env, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, ...extra });

  it('each AWS error gives its message, a hint and its exit status', async () => {
    const cases: Array<{ env: NodeJS.ProcessEnv; args: string[]; code: number; message: RegExp; hint: RegExp }> = [
      { env: withKey(DENIED_KEY, 'denied-secret'), args: ['run', DEMO, '--', 'true'], code: 3, message: /StartSession is not allowed/, hint: /needs ssm:StartSession on arn:aws:ssm:us-east-1:123456789012:instance\/i-0123456789abcdef0/ },
      { env: withKey(EXPIRED_KEY, 'expired-secret'), args: ['run', DEMO, '--', 'true'], code: 3, message: /credentials have expired/, hint: /aws sso login/ },
      { env: isolatedEnv({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: emulator.info.endpoint }), args: ['run', DEMO, '--', 'true'], code: 3, message: /no usable AWS credentials/, hint: /--profile/ },
      { env: emulator.env, args: ['shell', DEMO, '--document', 'No-Such-Document'], code: 4, message: /No-Such-Document does not exist/, hint: /list-documents/ },
      { env: emulator.env, args: ['shell', 'i-0fffffffffffffff0'], code: 4, message: /i-0fffffffffffffff0 is not a managed instance in this account and region/, hint: /--profile and --region/ },
      { env: { ...emulator.env, AWS_REGION: '' }, args: ['run', DEMO, '--', 'true'], code: 2, message: /no AWS region is set/, hint: /--region/ },
    ];
    for (const { env, args, code, message, hint } of cases) {
      const result = await ssmx(args, { env });
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(code);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).toMatch(hint);
      // NO_COLOR is set: not one escape code.
      expect(result.stderr).not.toContain('\x1b');
    }
  });

  it('throttling is retried by the SDK; when it lasts, a clear error (exit 1)', async () => {
    const brief = await startEmulatorProcess(['--config', writeConfig('throttle-brief.json', { throttle: 2 })]);
    const lasting = await startEmulatorProcess(['--config', writeConfig('throttle-lasting.json', { throttle: 1000 })]);
    try {
      const ok = await ssmx(['list', '--json'], { env: brief.env });
      expect(ok.code).toBe(0);
      const failed = await ssmx(['list'], { env: lasting.env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/was throttled/);
      expect(failed.stderr).toMatch(/try again/);
    } finally {
      await Promise.all([brief.stop(), lasting.stop()]);
    }
  }, 60_000);

  it('--debug shows the AWS calls and never a secret: no secret key, session token or session token value', async () => {
    const result = await ssmx(['--debug', 'run', 'demo', '--', 'echo debugged'], { env: withKey(TOKEN_KEY, TOKEN_SECRET, { AWS_SESSION_TOKEN: SESSION_TOKEN }) });
    expect(result.stdout).toContain('debugged');
    expect(result.stderr).toMatch(/ssmx: debug: ssm StartSessionCommand/);
    expect(result.stderr).toMatch(/"TokenValue":"\[redacted\]"/);
    expect(result.stderr).not.toContain(TOKEN_SECRET);
    expect(result.stderr).not.toContain(SESSION_TOKEN);
    // The emulator's session tokens are 128 base64 characters: none appears, whole or in part.
    expect(result.stderr).not.toMatch(/[A-Za-z0-9+/=]{40,}/);
  });

  it('an assume-role profile with MFA: the code is asked for on the terminal (the controlling one when stdin is a pipe) and used', async () => {
    const awsConfig = join(dir, 'aws-config');
    writeFileSync(
      awsConfig,
      [
        '[profile base]',
        `aws_access_key_id = ${emulator.info.accessKeyId}`,
        `aws_secret_access_key = ${emulator.info.secretAccessKey}`,
        '[profile ops]',
        'role_arn = arn:aws:iam::123456789012:role/ops',
        'source_profile = base',
        'mfa_serial = arn:aws:iam::123456789012:mfa/tester',
        'region = us-east-1',
        '',
      ].join('\n'),
    );
    const env = isolatedEnv({ AWS_CONFIG_FILE: awsConfig, AWS_ENDPOINT_URL: emulator.info.endpoint });
    const good = runInPty(process.execPath, [ssmxBin, '--profile', 'ops', 'run', 'demo', '--', 'echo assumed-with-mfa'], { env });
    await good.waitFor('MFA code for arn:aws:iam::123456789012:mfa/tester: ');
    good.write('123456\r');
    await good.waitFor('assumed-with-mfa', { timeoutMs: 15_000 });
    expect((await good.exited).exitCode).toBe(0);

    // stdin a pipe (ssh's ProxyCommand, piped input): the code is asked on the controlling terminal.
    const piped = runInPty('/bin/sh', ['-c', `: | exec "${process.execPath}" "${ssmxBin}" --profile ops run demo -- echo asked-on-the-tty`], { env });
    await piped.waitFor('MFA code for arn:aws:iam::123456789012:mfa/tester: ');
    piped.write('123456\r');
    await piped.waitFor('asked-on-the-tty', { timeoutMs: 15_000 });
    expect((await piped.exited).exitCode).toBe(0);

    const bad = runInPty(process.execPath, [ssmxBin, '--profile', 'ops', 'list'], { env });
    await bad.waitFor('MFA code for');
    bad.write('000000\r');
    expect((await bad.exited).exitCode).toBe(3);
    expect(bad.output()).toMatch(/MultiFactorAuthentication failed/);
  });

  it('a config file: defaults and aliases (target, and forward specs)', async () => {
    const config = join(dir, 'ssmx.json');
    writeFileSync(config, JSON.stringify({ region: 'us-east-1', aliases: { 'prod-db': { target: 'tag:Role=db', region: 'us-east-1' } } }));
    const env = { ...emulator.env, SSMX_CONFIG: config, AWS_REGION: '' };
    const result = await ssmx(['--verbose', 'run', 'prod-db', '--', 'echo via-alias'], { env });
    expect(result.stdout).toContain('via-alias');
    expect(result.stderr).toContain('prod-db is an alias of tag:Role=db');
    expect(result.stderr).toContain(`tag:Role=db is ${DB}`);
    // An alias's forward specs serve `ssmx forward <alias>` with none given.
    const echo = createServer((socket) => socket.on('data', (data: Buffer) => socket.end(data)));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const echoPort = (echo.address() as AddressInfo).port;
    writeFileSync(config, JSON.stringify({ aliases: { 'web-echo': { target: DEMO, forward: [`0:${echoPort}`] } } }));
    const forward = await startForward({ ...emulator.env, SSMX_CONFIG: config }, ['web-echo', '--sessions', '1']);
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: forward.listeners[0]!.localPort! }, () => socket.write('alias forward'));
      let text = '';
      socket.on('data', (data: Buffer) => (text += data.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toBe('alias forward');
    expect(await forward.stop()).toBe(0);
    echo.close();
    writeFileSync(join(dir, 'broken.json'), '{"aliases": {"x": {}}}');
    const broken = await ssmx(['list'], { env: { ...emulator.env, SSMX_CONFIG: join(dir, 'broken.json') } });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/aliases.x needs a "target"/);
  });

  it('completion scripts: bash completes commands and options; zsh and fish scripts parse where those shells exist', async () => {
    const script = (await ssmx(['completion', 'bash'])).stdout;
    writeFileSync(join(dir, 'ssmx.bash'), script);
    const complete = (words: string) =>
      execFileSync('bash', ['-c', `source ${join(dir, 'ssmx.bash')}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _ssmx; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim();
    expect(complete('ssmx ss').split(' ').sort()).toEqual(['ssh', 'ssh-config']);
    expect(complete('ssmx l').split(' ').sort()).toEqual(['list', 'ls']);
    expect(complete('ssmx --region eu-west-1 forward --s').split(' ')).toContain('--sessions');
    expect(complete('ssmx completion ""')).toBe('bash zsh fish');
    for (const shell of ['zsh', 'fish']) {
      const text = (await ssmx(['completion', shell])).stdout;
      expect(text).toMatch(/shell/);
      try {
        execFileSync('sh', ['-c', `command -v ${shell}`]);
      } catch {
        continue; // that shell is not installed here
      }
      writeFileSync(join(dir, `ssmx.${shell}`), text);
      execFileSync(shell, ['-n', join(dir, `ssmx.${shell}`)]);
    }
    expect((await ssmx(['completion', 'tcsh'])).code).toBe(2);
  });

  it('--version and -V print the version alone; with more on the line the parser reads it, as before', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) expect(await ssmx([flag])).toMatchObject({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect((await ssmx(['--version', 'list'])).stdout).toBe(`${version}\n`);
    expect((await ssmx(['--versions'])).code).toBe(2);
  });

  it('every command\'s --help shows examples', async () => {
    const help = (await ssmx(['--help'])).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z][a-z-]*)(?:\|[a-z]+)? /gm)].map((m) => m[1]!).filter((c) => c !== 'help');
    expect(commands.length).toBeGreaterThan(10);
    for (const command of commands) {
      const text = (await ssmx([command, '--help'])).stdout;
      expect(text, command).toMatch(/Examples?:|\$ ssmx|aws ssm/);
    }
  }, 60_000);
});
