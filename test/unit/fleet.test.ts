import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fleetExitCode, fleetScript, jsonLine, parseFleetTargets, prefixedOutput, serviceTargets, summaryLines, type FleetResult } from '../../src/cli/fleet.js';
import { wasTruncated } from '../../src/protocol/run-command.js';
import { isoDurationSeconds } from '../../src/aws/run-command.js';

const result = (fields: Partial<FleetResult>): FleetResult => ({
  instanceId: 'i-0aaaaaaaaaaaaaaa1',
  name: 'web-1',
  status: 'Success',
  statusDetails: 'Success',
  exitCode: 0,
  stdout: '',
  stderr: '',
  seconds: 0.25,
  truncated: [],
  ...fields,
});

describe('--targets', () => {
  it('tags of different keys all hold; values of one key, and names, are alternatives', () => {
    const spec = parseFleetTargets('tag:Role=web,tag:Env=prod,tag:Env=staging');
    expect(serviceTargets(spec.tags!)).toEqual([
      { Key: 'tag:Role', Values: ['web'] },
      { Key: 'tag:Env', Values: ['prod', 'staging'] },
    ]);
    expect(parseFleetTargets('web-1,web-2')).toEqual({ tags: [{ key: 'Name', values: ['web-1', 'web-2'] }] });
  });

  it('ids are InstanceIds; aliases are replaced by their targets', () => {
    expect(parseFleetTargets('i-0aaaaaaaaaaaaaaa1,db', { db: { target: 'i-0aaaaaaaaaaaaaaa2' } })).toEqual({ instanceIds: ['i-0aaaaaaaaaaaaaaa1', 'i-0aaaaaaaaaaaaaaa2'] });
  });

  it('refuses what the service cannot take: ids mixed with tags, containers, a tag without a value, an empty item', () => {
    expect(() => parseFleetTargets('i-0aaaaaaaaaaaaaaa1,tag:Env=prod')).toThrow(/cannot be mixed/);
    expect(() => parseFleetTargets('ecs:demo_0123_0123')).toThrow(/ECS container/);
    expect(() => parseFleetTargets('tag:Env')).toThrow(/needs a key and a value/);
    expect(() => parseFleetTargets('web-1,,web-2')).toThrow(/empty item/);
    expect(() => parseFleetTargets(Array.from({ length: 51 }, (_, i) => `i-${String(i).padStart(17, '0')}`).join(','))).toThrow(/at most 50/);
  });
});

describe('the script each instance runs', () => {
  it('one string is shell syntax; several words arrive exactly, through sh', () => {
    expect(fleetScript(['df -h / | tail -1'])).toBe('df -h / | tail -1');
    const words = ['printf', '[%s]\\n', "it's", 'two  words', '$HOME', '`id`', ''];
    const script = fleetScript(words);
    expect(execFileSync('sh', ['-c', script], { encoding: 'utf8' })).toBe("[it's]\n[two  words]\n[$HOME]\n[`id`]\n[]\n");
  });
});

const pipe = { color: false, stdoutIsTTY: false, stderrIsTTY: false };
const terminal = { color: false, stdoutIsTTY: true, stderrIsTTY: true };

describe('showing results', () => {
  it('every line after the name and id; colour only when asked', () => {
    expect(prefixedOutput(result({ stdout: 'a\nb\n', stderr: 'oops' }), 0, pipe)).toEqual({ stdout: 'web-1 i-0aaaaaaaaaaaaaaa1: a\nweb-1 i-0aaaaaaaaaaaaaaa1: b\n', stderr: 'web-1 i-0aaaaaaaaaaaaaaa1: oops\n' });
    expect(prefixedOutput(result({ stdout: 'a\n' }), 0, { ...terminal, color: true }).stdout).toBe('\x1b[36mweb-1 i-0aaaaaaaaaaaaaaa1:\x1b[0m a\n');
    expect(prefixedOutput(result({ name: '', stdout: 'a' }), 0, pipe).stdout).toBe('i-0aaaaaaaaaaaaaaa1: a\n');
  });

  it("on a terminal an instance's control characters are shown, not obeyed, in each stream that is one; a pipe gets them as they came", () => {
    const hostile = result({ stdout: 'real output\r web-2 i-0aaaaaaaaaaaaaaa2: FAKE\n\x1b]0;pwned\x07\x1b[2Jx\ty\r\n', stderr: 'e\rvil\n' });
    expect(prefixedOutput(hostile, 0, terminal)).toEqual({
      stdout: 'web-1 i-0aaaaaaaaaaaaaaa1: real output\\x0d web-2 i-0aaaaaaaaaaaaaaa2: FAKE\nweb-1 i-0aaaaaaaaaaaaaaa1: \\x1b]0;pwned\\x07\\x1b[2Jx\ty\n',
      stderr: 'web-1 i-0aaaaaaaaaaaaaaa1: e\\x0dvil\n',
    });
    expect(prefixedOutput(hostile, 0, pipe).stdout).toBe('web-1 i-0aaaaaaaaaaaaaaa1: real output\r web-2 i-0aaaaaaaaaaaaaaa2: FAKE\nweb-1 i-0aaaaaaaaaaaaaaa1: \x1b]0;pwned\x07\x1b[2Jx\ty\r\n');
    const stdoutOnly = prefixedOutput(hostile, 0, { ...pipe, stdoutIsTTY: true });
    expect(stdoutOnly.stdout).not.toContain('\r');
    expect(stdoutOnly.stderr).toBe('web-1 i-0aaaaaaaaaaaaaaa1: e\rvil\n');
    // The name is the instance's to say too (ComputerName): shown as safely, our colour kept.
    expect(prefixedOutput(result({ name: 'web\x1b[2J', stdout: 'a' }), 0, { ...terminal, color: true }).stdout).toBe('\x1b[36mweb\\x1b[2J i-0aaaaaaaaaaaaaaa1:\x1b[0m a\n');
  });

  it('--json: one object per line, the exit code null when the command never ran', () => {
    const line = jsonLine(result({ status: 'Failed', statusDetails: 'Undeliverable', exitCode: undefined, seconds: undefined }));
    expect(line.endsWith('\n')).toBe(true);
    expect(JSON.parse(line)).toEqual({ instanceId: 'i-0aaaaaaaaaaaaaaa1', name: 'web-1', status: 'Failed', statusDetails: 'Undeliverable', exitCode: null, stdout: '', stderr: '', durationSeconds: null, truncated: [] });
  });

  it('the summary: a row per instance with the status that says most, then the outcome', () => {
    const lines = summaryLines(
      [result({}), result({ instanceId: 'i-0aaaaaaaaaaaaaaa2', name: 'web-2', status: 'Failed', statusDetails: 'Failed', exitCode: 3 }), result({ instanceId: 'i-0aaaaaaaaaaaaaaa3', name: 'db-1', status: 'Failed', statusDetails: 'Undeliverable', exitCode: undefined, seconds: undefined })],
      'c0ffee',
      { status: 'Failed', statusDetails: 'Incomplete' },
    );
    expect(lines).toEqual([
      'INSTANCE             NAME   STATUS         EXIT  DURATION',
      'i-0aaaaaaaaaaaaaaa1  web-1  Success        0     0.25s',
      'i-0aaaaaaaaaaaaaaa2  web-2  Failed         3     0.25s',
      'i-0aaaaaaaaaaaaaaa3  db-1   Undeliverable  -     -',
      '1 of 3 succeeded; command c0ffee (Failed, Incomplete)',
    ]);
  });

  it('exit status: 0 when all succeeded, 1 when any did not, 4 when none ran', () => {
    expect(fleetExitCode([result({}), result({})])).toBe(0);
    expect(fleetExitCode([result({}), result({ status: 'TimedOut' })])).toBe(1);
    expect(fleetExitCode([])).toBe(4);
  });

  it("knows the agent's cut, and the service's elapsed times", () => {
    expect(wasTruncated('a'.repeat(23_980) + '--output truncated--')).toBe(true);
    expect(wasTruncated('short --output truncated--')).toBe(false);
    expect(isoDurationSeconds('PT0.013S')).toBe(0.013);
    expect(isoDurationSeconds('PT1M2.5S')).toBe(62.5);
    expect(isoDurationSeconds('')).toBeUndefined();
  });
});
