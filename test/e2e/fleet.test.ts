// @module-tag needs-aws
// @module-tag needs-node-pty
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { GetCommandInvocationCommand, ListCommandInvocationsCommand, ListCommandsCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runInPty } from '../support/pty.js';
import { runProgram } from '../support/run.js';

// Issue 16: `ssmx run --targets`, through Run Command (SendCommand and its kin), against the
// emulator's Run Command: a real process per instance, the service's statuses and thresholds.

const WEB = ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2', 'i-0aaaaaaaaaaaaaaa3'] as const;
const DB = 'i-0bbbbbbbbbbbbbbb1';
let emulator: EmulatorProcess;
let ssm: SSMClient;

beforeAll(async () => {
  emulator = await startEmulatorProcess([
    '--instance', `${WEB[0]}=web-1,Env=prod,Role=web`,
    '--instance', `${WEB[1]}=web-2,Env=prod,Role=web`,
    '--instance', `${WEB[2]}=web-3,Env=prod,Role=web`,
    '--instance', `${DB}=db-1,Env=prod,Role=db:offline`,
  ]);
  const { info } = emulator;
  ssm = new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
});
afterAll(async () => {
  ssm?.destroy();
  await emulator?.stop();
});

const ssmx = (args: string[], env: NodeJS.ProcessEnv = emulator.env) => runProgram(process.execPath, [ssmxBin, ...args], { env, input: '', timeoutMs: 60_000 });
const commandIdOf = (stderr: string) => /command ([0-9a-f-]{36}) \(/.exec(stderr)![1]!;

describe('ssmx run --targets', () => {
  it('three instances, one failing: each line after its name and id, stderr apart, a summary, exit 1; one SendCommand', async () => {
    const before = (await ssm.send(new ListCommandsCommand({}))).Commands?.length ?? 0;
    const result = await ssmx(['run', '--targets', 'tag:Role=web', '--', `echo "up on $AWS_SSM_INSTANCE_ID"; echo warning >&2; [ "$AWS_SSM_INSTANCE_ID" != ${WEB[2]} ]`]);
    expect(result.code).toBe(1);
    for (const [i, id] of WEB.entries()) {
      expect(result.stdout).toContain(`web-${i + 1} ${id}: up on ${id}\n`);
      expect(result.stderr).toContain(`web-${i + 1} ${id}: warning\n`);
    }
    expect(result.stdout).not.toContain('warning');
    expect(result.stderr).toMatch(/INSTANCE +NAME +STATUS +EXIT +DURATION/);
    expect(result.stderr).toMatch(new RegExp(`${WEB[0]} +web-1 +Success +0 `));
    expect(result.stderr).toMatch(new RegExp(`${WEB[2]} +web-3 +Failed +1 `));
    expect(result.stderr).toMatch(/2 of 3 succeeded; command [0-9a-f-]{36} \(Failed\)/);
    const commands = (await ssm.send(new ListCommandsCommand({}))).Commands ?? [];
    expect(commands.length).toBe(before + 1);
    expect(commands[0]).toMatchObject({ DocumentName: 'AWS-RunShellScript', Targets: [{ Key: 'tag:Role', Values: ['web'] }], TargetCount: 3 });
  }, 60_000);

  it('--json, --comment, --max-concurrency 1: one object per instance, and one instance at a time', async () => {
    const result = await ssmx(['run', '--targets', 'web-1,web-2', '--json', '--comment', 'ssmx test', '--max-concurrency', '1', '--', 'sleep 0.3; echo done']);
    expect(result.code).toBe(0);
    const objects = result.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(objects.map((object) => object.name).sort()).toEqual(['web-1', 'web-2']);
    expect(objects[0]).toMatchObject({ status: 'Success', statusDetails: 'Success', exitCode: 0, stdout: 'done\n', stderr: '', truncated: [] });
    expect(objects[0]!.durationSeconds as number).toBeGreaterThanOrEqual(0.3);
    const commandId = commandIdOf(result.stderr);
    const command = (await ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands![0]!;
    expect(command).toMatchObject({ Comment: 'ssmx test', MaxConcurrency: '1', Status: 'Success' });
    const times = await Promise.all(
      ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'].map(async (id) => {
        const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: id }));
        return [Date.parse(invocation.ExecutionStartDateTime!), Date.parse(invocation.ExecutionEndDateTime!)] as const;
      }),
    );
    times.sort((a, b) => a[0] - b[0]);
    expect(times[1]![0]).toBeGreaterThanOrEqual(times[0]![1]);
  }, 60_000);

  it('an offline instance is Undeliverable; the others run', async () => {
    const result = await ssmx(['run', '--targets', 'tag:Env=prod', '--', 'true']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${DB} +db-1 +Undeliverable +- +-`));
    expect(result.stderr).toMatch(/3 of 4 succeeded; command \S+ \(Failed, Incomplete\)/);
  }, 60_000);

  it('--max-errors 0, one at a time: after the first failure the rest are not sent (Terminated)', async () => {
    const result = await ssmx(['run', '--targets', 'tag:Role=web', '--max-concurrency', '1', '--max-errors', '0', '--', `[ "$AWS_SSM_INSTANCE_ID" != ${WEB[0]} ] && echo ran`]);
    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain('ran');
    expect(result.stderr).toMatch(new RegExp(`${WEB[0]} +web-1 +Failed +1 `));
    expect(result.stderr).toMatch(new RegExp(`${WEB[1]} +web-2 +Terminated +- `));
    expect(result.stderr).toMatch(new RegExp(`${WEB[2]} +web-3 +Terminated +- `));
  }, 60_000);

  it('--timeout: a command that runs too long is stopped on every instance (TimedOut), at once', async () => {
    const started = Date.now();
    const result = await ssmx(['run', '--targets', 'tag:Role=web', '--timeout', '1', '--max-errors', '100%', '--', 'sleep 30']);
    expect(result.code).toBe(1);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(result.stderr.match(/ TimedOut +137 /g)).toHaveLength(3);
  }, 60_000);

  it('Ctrl-C cancels the command on the service (CancelCommand), waits for the instances, exits 130', async () => {
    const child = spawn(process.execPath, [ssmxBin, 'run', '--targets', 'tag:Role=web', '--', 'sleep 30'], { env: emulator.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const deadline = Date.now() + 20_000;
    while (!/sent to 3 instances/.test(stderr) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const interrupted = Date.now();
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(Date.now() - interrupted).toBeLessThan(10_000);
    expect(stderr).toMatch(/cancelling command [0-9a-f-]{36} \(CancelCommand\)/);
    expect(stderr.match(/ Cancelled +137 /g)).toHaveLength(3);
    const command = (await ssm.send(new ListCommandsCommand({ CommandId: commandIdOf(stderr) }))).Commands![0]!;
    expect(command.Status).toBe('Cancelled');
  }, 60_000);

  it('output past 24,000 characters: ssmx says it was cut; with --output-s3-bucket it reads the whole from S3', async () => {
    const script = "head -c 30000 /dev/zero | tr '\\0' x";
    const cut = await ssmx(['run', '--targets', 'web-1', '--', script]);
    expect(cut.code).toBe(0);
    expect(cut.stdout).toBe(`web-1 ${WEB[0]}: ${'x'.repeat(23_980)}--output truncated--\n`);
    expect(cut.stderr).toContain(`web-1 ${WEB[0]}: the service kept only the first 24,000 characters of its stdout; --output-s3-bucket keeps it whole`);

    const whole = await ssmx(['run', '--targets', 'web-1', '--output-s3-bucket', 'ssmx-output', '--output-s3-prefix', 'runs', '--json', '--', script]);
    expect(whole.code).toBe(0);
    const object = JSON.parse(whole.stdout) as { stdout: string; truncated: string[] };
    expect(object.stdout).toBe('x'.repeat(30_000));
    expect(object.truncated).toEqual([]);
    expect(whole.stderr).not.toContain('kept only');
    const invocation = (await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandIdOf(whole.stderr) }))).CommandInvocations![0]!;
    expect(invocation.StandardOutputUrl).toMatch(new RegExp(`/ssmx-output/runs/${commandIdOf(whole.stderr)}/${WEB[0]}/awsrunShellScript/stdout$`));
  }, 60_000);

  it('nothing matching is exit 4, before anything is sent; fleet options without --targets are usage errors', async () => {
    const none = await ssmx(['run', '--targets', 'tag:Env=nowhere', '--', 'true']);
    expect(none.code).toBe(4);
    expect(none.stderr).toContain('no managed instance matches --targets tag:Env=nowhere');
    const usage = await ssmx(['run', WEB[0], '--max-concurrency', '2', '--', 'true']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--max-concurrency is for --targets');
    const bad = await ssmx(['run', '--targets', 'web-1', '--max-errors', 'lots', '--', 'true']);
    expect(bad.code).toBe(2);
  }, 60_000);

  it('on a terminal each instance has its colour; NO_COLOR turns it off', async () => {
    const { NO_COLOR: _, ...colourEnv } = emulator.env;
    const term = runInPty(process.execPath, [ssmxBin, 'run', '--targets', 'web-1', '--', 'echo hi'], { env: colourEnv });
    expect((await term.exited).exitCode).toBe(0);
    expect(term.output()).toContain(`\x1b[36mweb-1 ${WEB[0]}:\x1b[0m hi`);
    const plain = runInPty(process.execPath, [ssmxBin, 'run', '--targets', 'web-1', '--', 'echo hi'], { env: { ...colourEnv, NO_COLOR: '1' } });
    expect((await plain.exited).exitCode).toBe(0);
    expect(plain.output()).toContain(`web-1 ${WEB[0]}: hi`);
    expect(plain.output()).not.toContain('\x1b[36m');
  }, 60_000);

  // Issue 28, point 3: an instance's output must not pass for another's, nor take over the terminal.
  const HOSTILE = `printf 'real output\\r web-2 ${WEB[1]}: FAKE\\n\\033]0;pwned\\007\\033[2Jx\\ty\\n'; printf 'e\\rvil\\n' >&2`;

  it("on a terminal an instance's carriage returns and escape sequences are shown as \\xHH, not obeyed; tabs kept", async () => {
    const term = runInPty(process.execPath, [ssmxBin, 'run', '--targets', 'web-1', '--', HOSTILE], { env: emulator.env });
    expect((await term.exited).exitCode).toBe(0);
    const shown = term.output();
    expect(shown).toContain(`web-1 ${WEB[0]}: real output\\x0d web-2 ${WEB[1]}: FAKE\r\n`);
    expect(shown).toContain(`web-1 ${WEB[0]}: \\x1b]0;pwned\\x07\\x1b[2Jx\ty\r\n`);
    expect(shown).toContain(`web-1 ${WEB[0]}: e\\x0dvil\r\n`);
    // Nothing of the instance's reaches the terminal raw: its three lines hold no control character but the tab.
    const lines = shown.split('\r\n').filter((line) => line.includes(`${WEB[0]}: `));
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).not.toMatch(/[\x00-\x08\x0a-\x1f\x7f]/);
  }, 60_000);

  it('through a pipe, and with --json, the bytes are exact; a single target (no --targets) is not prefixed and not changed', async () => {
    const piped = await ssmx(['run', '--targets', 'web-1', '--', HOSTILE]);
    expect(piped.code).toBe(0);
    expect(piped.stdoutBytes.equals(Buffer.from(`web-1 ${WEB[0]}: real output\r web-2 ${WEB[1]}: FAKE\nweb-1 ${WEB[0]}: \x1b]0;pwned\x07\x1b[2Jx\ty\n`))).toBe(true);
    expect(piped.stderr).toContain(`web-1 ${WEB[0]}: e\rvil\n`);

    const json = runInPty(process.execPath, [ssmxBin, 'run', '--targets', 'web-1', '--json', '--', HOSTILE], { env: emulator.env });
    expect((await json.exited).exitCode).toBe(0);
    const object = JSON.parse(/\{.*\}/.exec(json.output())![0]) as { stdout: string; stderr: string };
    expect(object).toMatchObject({ stdout: `real output\r web-2 ${WEB[1]}: FAKE\n\x1b]0;pwned\x07\x1b[2Jx\ty\n`, stderr: 'e\rvil\n' });

    expect((await ssmx(['setup'])).code).toBe(0);
    const single = runInPty(process.execPath, [ssmxBin, 'run', 'web-1', '--', HOSTILE], { env: emulator.env });
    expect((await single.exited).exitCode).toBe(0);
    expect(single.output()).toContain(`real output\r web-2 ${WEB[1]}: FAKE\r\n\x1b]0;pwned\x07\x1b[2Jx\ty\r\n`);
    expect(single.output()).not.toContain(`${WEB[0]}:`);
  }, 60_000);
});

describe("the emulator's Run Command, driven by the AWS CLI", () => {
  const aws = ['/usr/bin/aws', '/usr/local/bin/aws'].find((path) => existsSync(path));
  it('send-command, list-command-invocations, get-command-invocation, cancel-command', async () => {
    if (!aws) throw new Error('the AWS CLI is not installed (apt-get install awscli; .ci/run does)');
    const common = ['--endpoint-url', emulator.info.endpoint, '--output', 'json'];
    const sent = await runProgram(aws, ['ssm', 'send-command', '--document-name', 'AWS-RunShellScript', '--instance-ids', WEB[0], WEB[1], '--parameters', 'commands=["echo from $AWS_SSM_INSTANCE_ID"]', ...common], { env: emulator.env });
    expect(sent.code).toBe(0);
    const commandId = (JSON.parse(sent.stdout) as { Command: { CommandId: string } }).Command.CommandId;
    let statuses: string[] = [];
    for (let i = 0; i < 50 && !(statuses.length === 2 && statuses.every((status) => status === 'Success')); i++) {
      const listed = await runProgram(aws, ['ssm', 'list-command-invocations', '--command-id', commandId, ...common], { env: emulator.env });
      statuses = (JSON.parse(listed.stdout) as { CommandInvocations: Array<{ Status: string }> }).CommandInvocations.map((invocation) => invocation.Status);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(statuses).toEqual(['Success', 'Success']);
    const got = await runProgram(aws, ['ssm', 'get-command-invocation', '--command-id', commandId, '--instance-id', WEB[1], ...common], { env: emulator.env });
    expect(JSON.parse(got.stdout)).toMatchObject({ Status: 'Success', ResponseCode: 0, StandardOutputContent: `from ${WEB[1]}\n` });

    const long = await runProgram(aws, ['ssm', 'send-command', '--document-name', 'AWS-RunShellScript', '--targets', 'Key=tag:Role,Values=web', '--parameters', 'commands=["sleep 30"]', ...common], { env: emulator.env });
    const longId = (JSON.parse(long.stdout) as { Command: { CommandId: string } }).Command.CommandId;
    expect((await runProgram(aws, ['ssm', 'cancel-command', '--command-id', longId, ...common], { env: emulator.env })).code).toBe(0);
    let status = '';
    for (let i = 0; i < 50 && status !== 'Cancelled'; i++) {
      const listed = await runProgram(aws, ['ssm', 'list-commands', '--command-id', longId, ...common], { env: emulator.env });
      status = (JSON.parse(listed.stdout) as { Commands: Array<{ Status: string }> }).Commands[0]!.Status;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe('Cancelled');
  }, 60_000);
});

describe('ssmx run --targets on Windows instances', () => {
  it('AWS-RunPowerShellScript when every instance is Windows; a mix is refused before anything is sent', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const file = join(mkdtempSync(join(tmpdir(), 'ssmx-fleet-win-')), 'emulator.json');
    const win = (id: string, name: string) => ({ id, name, platformType: 'Windows', platformName: 'Microsoft Windows Server 2022 Datacenter', tags: { Role: 'win' } });
    writeFileSync(file, JSON.stringify({ instances: [win('i-0ccccccccccccccc1', 'win-1'), win('i-0ccccccccccccccc2', 'win-2'), { id: 'i-0ddddddddddddddd1', name: 'lin-1', tags: { Role: 'win' } }] }));
    const windows = await startEmulatorProcess(['--config', file]);
    const client = new SSMClient({ region: windows.info.region, endpoint: windows.info.endpoint, credentials: { accessKeyId: windows.info.accessKeyId, secretAccessKey: windows.info.secretAccessKey } });
    try {
      const run = (args: string[]) => runProgram(process.execPath, [ssmxBin, 'run', ...args], { env: windows.env, input: '', timeoutMs: 60_000 });
      const sent = await run(['--targets', 'win-1,win-2', '--', 'Get-Service W32Time']);
      expect(sent.stderr).toContain('(AWS-RunPowerShellScript) sent to 2 instances');
      const commands = (await client.send(new ListCommandsCommand({}))).Commands ?? [];
      expect(commands.map((command) => command.DocumentName)).toEqual(['AWS-RunPowerShellScript']);
      const mixed = await run(['--targets', 'tag:Role=win', '--', 'hostname']);
      expect(mixed.code).toBe(2);
      expect(mixed.stderr).toContain('matches Windows and other instances');
      expect((await client.send(new ListCommandsCommand({}))).Commands).toHaveLength(1);
    } finally {
      client.destroy();
      await windows.stop();
    }
  }, 60_000);
});
