import { describe, expect, it } from 'vitest';
import { CommandRun, countOf, type ProcessEnd } from '../../src/emulator/run-command.js';
import { MAX_OUTPUT_BYTES, OUTPUT_TRUNCATED_SUFFIX, STOPPED_PREEMPTIVELY_EXIT_CODE, truncateOutput } from '../../src/protocol/run-command.js';

// The emulator's Run Command, as the service schedules it: concurrency, error thresholds,
// undeliverable instances, cancels, timeouts, and the agent's 24,000-byte cut.

const instances = (n: number, offline: number[] = []) => Array.from({ length: n }, (_, i) => ({ id: `i-${String(i).padStart(17, '0')}`, name: `web-${i}`, online: !offline.includes(i) }));
const end = (exitCode: number, timedOut = false): ProcessEnd => ({ exitCode, stdout: Buffer.from(`out ${exitCode}\n`), stderr: Buffer.alloc(0), timedOut });
const ids = (run: CommandRun, status: string) => run.invocations.filter((invocation) => invocation.status === status).map((invocation) => invocation.instanceId);

describe('CommandRun', () => {
  it('sends to at most MaxConcurrency instances at a time, the next as one ends', () => {
    const run = new CommandRun(instances(3), '1', '0');
    expect(run.begin(0)).toEqual([{ kind: 'start', instanceId: 'i-00000000000000000' }]);
    expect(run.status).toEqual({ status: 'InProgress', details: 'InProgress' });
    expect(run.finished('i-00000000000000000', end(0), 10)).toEqual([{ kind: 'start', instanceId: 'i-00000000000000001' }]);
    expect(run.finished('i-00000000000000001', end(0), 20)).toEqual([{ kind: 'start', instanceId: 'i-00000000000000002' }]);
    expect(run.finished('i-00000000000000002', end(0), 30)).toEqual([]);
    expect(run.status).toEqual({ status: 'Success', details: 'Success' });
    expect(run.invocations[0]).toMatchObject({ status: 'Success', statusDetails: 'Success', responseCode: 0, startedAt: 0, endedAt: 10 });
  });

  it('more failures than MaxErrors: the instances not yet sent it are Cancelled (Terminated); those running go on', () => {
    const run = new CommandRun(instances(4), '2', '0');
    expect(run.begin(0)).toHaveLength(2);
    expect(run.finished('i-00000000000000000', end(3), 5)).toEqual([]);
    expect(ids(run, 'Cancelled')).toEqual(['i-00000000000000002', 'i-00000000000000003']);
    expect(run.invocations[2]!.statusDetails).toBe('Terminated');
    expect(ids(run, 'InProgress')).toEqual(['i-00000000000000001']);
    run.finished('i-00000000000000001', end(0), 6);
    expect(run.status).toEqual({ status: 'Failed', details: 'Failed' });
    expect(run.invocations[0]).toMatchObject({ status: 'Failed', responseCode: 3 });
    expect(run.errors).toBe(1);
  });

  it('failures within MaxErrors: every instance runs, and the command is Failed, Incomplete', () => {
    const run = new CommandRun(instances(3), '1', '1');
    run.begin(0);
    run.finished('i-00000000000000000', end(1), 1);
    run.finished('i-00000000000000001', end(0), 2);
    run.finished('i-00000000000000002', end(0), 3);
    expect(run.status).toEqual({ status: 'Failed', details: 'Incomplete' });
  });

  it('an offline instance is Undeliverable at once and not counted against MaxErrors', () => {
    const run = new CommandRun(instances(3, [1]), '50', '0');
    expect(run.begin(0).map((action) => action.instanceId)).toEqual(['i-00000000000000000', 'i-00000000000000002']);
    expect(run.invocations[1]).toMatchObject({ status: 'Failed', statusDetails: 'Undeliverable', responseCode: -1 });
    expect(run.errors).toBe(0);
    run.finished('i-00000000000000000', end(0), 1);
    run.finished('i-00000000000000002', end(0), 1);
    expect(run.status).toEqual({ status: 'Failed', details: 'Incomplete' });
  });

  it('an execution timeout is TimedOut (ExecutionTimedOut), exit 137, and counts as an error', () => {
    const run = new CommandRun(instances(2), '1', '0');
    run.begin(0);
    expect(run.finished('i-00000000000000000', end(-1, true), 1)).toEqual([]);
    expect(run.invocations[0]).toMatchObject({ status: 'TimedOut', statusDetails: 'ExecutionTimedOut', responseCode: STOPPED_PREEMPTIVELY_EXIT_CODE });
    expect(run.invocations[1]).toMatchObject({ status: 'Cancelled', statusDetails: 'Terminated' });
  });

  it('CancelCommand: pending ones are Cancelled at once, running ones Cancelling until their process stops', () => {
    const run = new CommandRun(instances(3), '1', '0');
    run.begin(0);
    expect(run.cancel(undefined, 1)).toEqual([{ kind: 'stop', instanceId: 'i-00000000000000000' }]);
    expect(run.status).toEqual({ status: 'Cancelling', details: 'Cancelling' });
    expect(ids(run, 'Cancelled')).toEqual(['i-00000000000000001', 'i-00000000000000002']);
    expect(run.finished('i-00000000000000000', end(-1), 2)).toEqual([]);
    expect(run.invocations[0]).toMatchObject({ status: 'Cancelled', responseCode: STOPPED_PREEMPTIVELY_EXIT_CODE });
    expect(run.status).toEqual({ status: 'Cancelled', details: 'Cancelled' });
  });

  it('the delivery timeout: what was never sent is TimedOut (DeliveryTimedOut), not an error', () => {
    const run = new CommandRun(instances(2), '1', '0');
    run.begin(0);
    run.expire(100);
    expect(run.invocations[1]).toMatchObject({ status: 'TimedOut', statusDetails: 'DeliveryTimedOut' });
    expect(run.errors).toBe(0);
    expect(run.deliveryTimedOut).toBe(1);
  });

  it('percentages of the targets: concurrency rounds up (at least 1), errors down', () => {
    expect(countOf('10%', 3, 'up')).toBe(1);
    expect(countOf('50%', 3, 'up')).toBe(2);
    expect(countOf('10%', 3, 'down')).toBe(0);
    expect(countOf('50%', 3, 'down')).toBe(1);
    expect(countOf('7', 3, 'up')).toBe(7);
  });
});

describe("the agent's cut of each stream (pluginutil.go StringPrefix)", () => {
  it('keeps a stream under 24,000 bytes whole; from 24,000 on, its first 23,980 bytes and the suffix', () => {
    expect(truncateOutput(Buffer.alloc(MAX_OUTPUT_BYTES - 1, 'a'))).toHaveLength(23_999);
    const cut = truncateOutput(Buffer.alloc(MAX_OUTPUT_BYTES, 'a'));
    expect(cut).toBe('a'.repeat(23_980) + OUTPUT_TRUNCATED_SUFFIX);
    expect(OUTPUT_TRUNCATED_SUFFIX).toBe('--output truncated--');
    expect(truncateOutput(Buffer.alloc(100_000, 'b'))).toHaveLength(24_000);
  });
});
