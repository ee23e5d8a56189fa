/**
 * Run Command as the service keeps it: one command, one invocation per instance, sent out at most
 * MaxConcurrency at a time, stopped when more than MaxErrors fail. Pure: the caller starts and
 * stops the processes this asks for and tells it how they ended, with the time.
 *
 * The statuses are the API's (CommandStatus, CommandInvocationStatus) and the details are those the
 * Systems Manager user guide lists under "Understanding command statuses":
 * - an instance that is not online cannot be sent the command: Failed, Undeliverable, not counted
 *   against MaxErrors;
 * - a non-zero exit is Failed; an execution timeout is TimedOut, ExecutionTimedOut; both count;
 * - a command not delivered before its delivery timeout (TimeoutSeconds) is TimedOut,
 *   DeliveryTimedOut, not counted;
 * - once more than MaxErrors have failed, the instances not yet sent it are Cancelled, Terminated,
 *   while those already running go on;
 * - CancelCommand: pending ones are Cancelled at once, running ones Cancelling until they stop.
 * The command's own status: Success when every invocation succeeded; Failed when more than
 * MaxErrors failed; Cancelled after CancelCommand; else Failed, Incomplete (some did not succeed,
 * too few failures to fail the command).
 */

import { isFinal, STOPPED_PREEMPTIVELY_EXIT_CODE } from '../protocol/run-command.js';

export type InvocationStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'Cancelling';
export type CommandStatus = 'Pending' | 'InProgress' | 'Success' | 'Failed' | 'TimedOut' | 'Cancelled' | 'Cancelling';

export interface InvocationState {
  instanceId: string;
  instanceName: string;
  /** Whether the instance's agent is connected: only then can the command be delivered. */
  online: boolean;
  status: InvocationStatus;
  statusDetails: string;
  /** -1 until the process has ended. */
  responseCode: number;
  stdout: Buffer;
  stderr: Buffer;
  startedAt?: number;
  endedAt?: number;
}

export type RunAction = { kind: 'start'; instanceId: string } | { kind: 'stop'; instanceId: string };

/** How a process ended: its exit status, its output, and whether the execution timeout stopped it. */
export interface ProcessEnd {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

/** A count from the service's "N" or "N%" of the targets: concurrency rounds up (at least 1), errors down. */
export function countOf(spec: string, targets: number, round: 'up' | 'down'): number {
  const match = /^(\d+)(%?)$/.exec(spec);
  if (!match) throw new Error(`not a number or a percentage: ${spec}`);
  const number = Number(match[1]);
  if (!match[2]) return number;
  const share = (number * targets) / 100;
  return round === 'up' ? Math.max(1, Math.ceil(share)) : Math.floor(share);
}

const ERROR_STATUSES: readonly InvocationStatus[] = ['Failed', 'TimedOut'];
/** Ends that do not count against MaxErrors: the command never reached the instance. */
const NOT_ERRORS: readonly string[] = ['Undeliverable', 'DeliveryTimedOut'];

export class CommandRun {
  readonly invocations: InvocationState[];
  private readonly concurrency: number;
  private readonly allowedErrors: number;
  private cancelled = false;

  constructor(instances: Array<{ id: string; name: string; online: boolean }>, maxConcurrency: string, maxErrors: string) {
    this.invocations = instances.map((instance) => ({
      instanceId: instance.id,
      instanceName: instance.name,
      online: instance.online,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      stdout: Buffer.alloc(0),
      stderr: Buffer.alloc(0),
    }));
    this.concurrency = countOf(maxConcurrency, instances.length, 'up');
    this.allowedErrors = countOf(maxErrors, instances.length, 'down');
  }

  /** The first instances to run it; those offline are Undeliverable at once. */
  begin(now: number): RunAction[] {
    for (const invocation of this.invocations) {
      if (!invocation.online) this.end(invocation, 'Failed', 'Undeliverable', -1, now);
    }
    return this.next(now);
  }

  /** A process has ended by itself, or after a stop this asked for. */
  finished(instanceId: string, end: ProcessEnd, now: number): RunAction[] {
    const invocation = this.find(instanceId);
    if (!invocation || isFinal(invocation.status)) return [];
    invocation.stdout = end.stdout;
    invocation.stderr = end.stderr;
    if (invocation.status === 'Cancelling') this.end(invocation, 'Cancelled', 'Cancelled', STOPPED_PREEMPTIVELY_EXIT_CODE, now);
    else if (end.timedOut) this.end(invocation, 'TimedOut', 'ExecutionTimedOut', STOPPED_PREEMPTIVELY_EXIT_CODE, now);
    else if (end.exitCode === 0) this.end(invocation, 'Success', 'Success', 0, now);
    else this.end(invocation, 'Failed', 'Failed', end.exitCode, now);
    return this.next(now);
  }

  /** CancelCommand, for every instance or the ones named. */
  cancel(instanceIds: readonly string[] | undefined, now: number): RunAction[] {
    const actions: RunAction[] = [];
    if (!instanceIds) this.cancelled = true;
    for (const invocation of this.invocations) {
      if (instanceIds && !instanceIds.includes(invocation.instanceId)) continue;
      if (invocation.status === 'Pending') this.end(invocation, 'Cancelled', 'Cancelled', -1, now);
      else if (invocation.status === 'InProgress') {
        invocation.status = 'Cancelling';
        invocation.statusDetails = 'Cancelling';
        actions.push({ kind: 'stop', instanceId: invocation.instanceId });
      }
    }
    return actions;
  }

  /** The delivery timeout has passed: what was never sent will not be. */
  expire(now: number): void {
    for (const invocation of this.invocations) {
      if (invocation.status === 'Pending') this.end(invocation, 'TimedOut', 'DeliveryTimedOut', -1, now);
    }
  }

  get errors(): number {
    return this.invocations.filter((invocation) => ERROR_STATUSES.includes(invocation.status) && !NOT_ERRORS.includes(invocation.statusDetails)).length;
  }

  get completed(): number {
    return this.invocations.filter((invocation) => isFinal(invocation.status)).length;
  }

  get deliveryTimedOut(): number {
    return this.invocations.filter((invocation) => invocation.statusDetails === 'DeliveryTimedOut').length;
  }

  /** The command's status and its details. */
  get status(): { status: CommandStatus; details: string } {
    const all = this.invocations;
    if (all.some((invocation) => !isFinal(invocation.status))) {
      if (this.cancelled) return { status: 'Cancelling', details: 'Cancelling' };
      const started = all.some((invocation) => invocation.status !== 'Pending');
      return started ? { status: 'InProgress', details: 'InProgress' } : { status: 'Pending', details: 'Pending' };
    }
    if (this.cancelled) return { status: 'Cancelled', details: 'Cancelled' };
    if (all.every((invocation) => invocation.status === 'Success')) return { status: 'Success', details: 'Success' };
    if (this.errors > this.allowedErrors) return { status: 'Failed', details: 'Failed' };
    return { status: 'Failed', details: 'Incomplete' };
  }

  private next(now: number): RunAction[] {
    const actions: RunAction[] = [];
    if (this.cancelled) return actions;
    const tooManyErrors = this.errors > this.allowedErrors;
    let running = this.invocations.filter((invocation) => invocation.status === 'InProgress' || invocation.status === 'Cancelling').length;
    for (const invocation of this.invocations) {
      if (invocation.status !== 'Pending') continue;
      if (tooManyErrors) {
        this.end(invocation, 'Cancelled', 'Terminated', -1, now);
        continue;
      }
      if (running >= this.concurrency) break;
      invocation.status = 'InProgress';
      invocation.statusDetails = 'InProgress';
      invocation.startedAt = now;
      running += 1;
      actions.push({ kind: 'start', instanceId: invocation.instanceId });
    }
    return actions;
  }

  private end(invocation: InvocationState, status: InvocationStatus, details: string, responseCode: number, now: number): void {
    invocation.status = status;
    invocation.statusDetails = details;
    invocation.responseCode = responseCode;
    invocation.endedAt = now;
  }

  private find(instanceId: string): InvocationState | undefined {
    return this.invocations.find((invocation) => invocation.instanceId === instanceId);
  }
}
