import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { ApiError } from './api.js';
import type { EmulatorConfig, InstanceConfig } from './config.js';
import { tagsOf } from './ec2.js';
import { MAX_CONCURRENCY_PATTERN, MAX_ERRORS_PATTERN, truncateOutput } from '../protocol/run-command.js';
import { CommandRun, type ProcessEnd, type RunAction } from './run-command.js';

/**
 * Run Command's API (SendCommand, ListCommands, ListCommandInvocations, GetCommandInvocation,
 * CancelCommand) over CommandRun: each invocation a real process on this machine, run as the agent
 * runs AWS-RunShellScript (runshellscript.go: the commands written to _script.sh, then
 * `sh -c <script>`, with AWS_SSM_INSTANCE_ID and AWS_SSM_REGION_NAME set as executers.go sets them),
 * in a directory of the instance's own.
 */

/** The documents this emulator runs, and the step each reports its output under. */
const DOCUMENTS: Record<string, { plugin: string; shell: string[] }> = {
  'AWS-RunShellScript': { plugin: 'aws:runShellScript', shell: ['sh', '-c'] },
  'AWS-RunPowerShellScript': { plugin: 'aws:runPowerShellScript', shell: ['pwsh', '-NonInteractive', '-File'] },
};
/** The execution timeout when the parameter is absent, and its bounds (the documents' executionTimeout). */
const DEFAULT_EXECUTION_TIMEOUT_S = 3600;
const MAX_EXECUTION_TIMEOUT_S = 172_800;

/** A process started for an invocation. */
export interface ScriptProcess {
  stop(): void;
  ended: Promise<ProcessEnd>;
}

/** Starts the commands of a document on an instance; given in by tests, the real one spawns. */
export type ScriptRunner = (request: { instance: InstanceConfig; commandId: string; shell: string[]; commands: string[]; timeoutSeconds: number; region: string; root: string }) => ScriptProcess;

interface CommandRecord {
  commandId: string;
  documentName: string;
  plugin: string;
  comment: string;
  parameters: Record<string, string[]>;
  instanceIds: string[];
  targets: Array<{ Key: string; Values: string[] }>;
  requestedAt: number;
  timeoutSeconds: number;
  maxConcurrency: string;
  maxErrors: string;
  outputS3BucketName?: string;
  outputS3KeyPrefix?: string;
  run: CommandRun;
  instances: InstanceConfig[];
  commands: string[];
  shell: string[];
  executionTimeout: number;
  processes: Map<string, ScriptProcess>;
}

const asStrings = (value: unknown): string[] | undefined => (Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : undefined);

export class CommandService {
  private readonly commands = new Map<string, CommandRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly config: EmulatorConfig,
    /** Where each instance keeps its documents' files. */
    private readonly root: string,
    /** Where the emulator serves its S3 objects (its own address, or the public endpoint). */
    private readonly s3Base: () => string,
    private readonly runner: ScriptRunner = spawnScript,
    private readonly now: () => number = Date.now,
  ) {}

  send(input: Record<string, unknown>): unknown {
    const documentName = typeof input.DocumentName === 'string' ? input.DocumentName : '';
    const document = DOCUMENTS[documentName];
    if (!document) throw new ApiError('InvalidDocument', `Document with name ${documentName || 'null'} does not exist.`);
    const parameters: Record<string, string[]> = {};
    for (const [key, value] of Object.entries((input.Parameters as Record<string, unknown> | undefined) ?? {})) {
      const list = asStrings(value);
      if (!list) throw new ApiError('InvalidParameters', `Parameter ${key} must be a list of strings.`);
      parameters[key] = list;
    }
    const commands = parameters.commands;
    if (!commands || commands.length === 0) throw new ApiError('InvalidParameters', 'Parameters [commands] are required.');
    const unknown = Object.keys(parameters).filter((key) => !['commands', 'executionTimeout', 'workingDirectory'].includes(key));
    if (unknown.length) throw new ApiError('InvalidParameters', `Parameters [${unknown.join(', ')}] are not defined in the document.`);
    const executionTimeout = Number(parameters.executionTimeout?.[0] ?? DEFAULT_EXECUTION_TIMEOUT_S);
    if (!Number.isInteger(executionTimeout) || executionTimeout < 1 || executionTimeout > MAX_EXECUTION_TIMEOUT_S) {
      throw new ApiError('InvalidParameters', `executionTimeout must be a whole number of seconds from 1 to ${MAX_EXECUTION_TIMEOUT_S}.`);
    }
    const maxConcurrency = typeof input.MaxConcurrency === 'string' ? input.MaxConcurrency : '50';
    const maxErrors = typeof input.MaxErrors === 'string' ? input.MaxErrors : '0';
    if (!MAX_CONCURRENCY_PATTERN.test(maxConcurrency)) throw new ApiError('ValidationException', `1 validation error detected: Value '${maxConcurrency}' at 'maxConcurrency' failed to satisfy constraint: Member must satisfy regular expression pattern: ${MAX_CONCURRENCY_PATTERN.source}`);
    if (!MAX_ERRORS_PATTERN.test(maxErrors)) throw new ApiError('ValidationException', `1 validation error detected: Value '${maxErrors}' at 'maxErrors' failed to satisfy constraint: Member must satisfy regular expression pattern: ${MAX_ERRORS_PATTERN.source}`);
    const comment = typeof input.Comment === 'string' ? input.Comment : '';
    if (comment.length > 100) throw new ApiError('ValidationException', "1 validation error detected: Value at 'comment' failed to satisfy constraint: Member must have length less than or equal to 100");
    const timeoutSeconds = typeof input.TimeoutSeconds === 'number' ? input.TimeoutSeconds : 3600;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 30 || timeoutSeconds > 2_592_000) {
      throw new ApiError('ValidationException', "1 validation error detected: Value at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000");
    }

    const instanceIds = asStrings(input.InstanceIds) ?? [];
    const targets = Array.isArray(input.Targets) ? (input.Targets as Array<{ Key: string; Values: string[] }>) : [];
    if (instanceIds.length && targets.length) throw new ApiError('InvalidParameters', 'Specify InstanceIds or Targets, not both.');
    if (!instanceIds.length && !targets.length) throw new ApiError('InvalidParameters', 'Specify InstanceIds or Targets.');
    if (instanceIds.length > 50) throw new ApiError('ValidationException', "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to 50");
    const instances = instanceIds.length ? this.byIds(instanceIds) : this.byTargets(targets);

    const commandId = randomUUID();
    const record: CommandRecord = {
      commandId,
      documentName,
      plugin: document.plugin,
      comment,
      parameters: { ...parameters, executionTimeout: [String(executionTimeout)] },
      instanceIds,
      targets,
      requestedAt: this.now(),
      timeoutSeconds,
      maxConcurrency,
      maxErrors,
      ...(typeof input.OutputS3BucketName === 'string' ? { outputS3BucketName: input.OutputS3BucketName } : {}),
      ...(typeof input.OutputS3KeyPrefix === 'string' ? { outputS3KeyPrefix: input.OutputS3KeyPrefix } : {}),
      run: new CommandRun(
        instances.map((instance) => ({ id: instance.id, name: instance.name, online: instance.pingStatus === 'Online' })),
        maxConcurrency,
        maxErrors,
      ),
      instances,
      commands,
      shell: document.shell,
      executionTimeout,
      processes: new Map(),
    };
    this.commands.set(commandId, record);
    this.apply(record, record.run.begin(this.now()));
    // Whatever has not been delivered by the delivery timeout never will be.
    const expiry = setTimeout(() => {
      this.timers.delete(expiry);
      record.run.expire(this.now());
    }, timeoutSeconds * 1000);
    expiry.unref();
    this.timers.add(expiry);
    return { Command: this.describe(record) };
  }

  list(input: Record<string, unknown>): unknown {
    const commandId = typeof input.CommandId === 'string' ? input.CommandId : undefined;
    const instanceId = typeof input.InstanceId === 'string' ? input.InstanceId : undefined;
    if (commandId && !this.commands.has(commandId)) throw new ApiError('InvalidCommandId', `The command ${commandId} does not exist.`);
    const records = [...this.commands.values()]
      .filter((record) => !commandId || record.commandId === commandId)
      .filter((record) => !instanceId || record.run.invocations.some((invocation) => invocation.instanceId === instanceId))
      .reverse();
    return page(records.map((record) => this.describe(record)), input, 'Commands');
  }

  listInvocations(input: Record<string, unknown>): unknown {
    const commandId = typeof input.CommandId === 'string' ? input.CommandId : undefined;
    const instanceId = typeof input.InstanceId === 'string' ? input.InstanceId : undefined;
    if (commandId && !this.commands.has(commandId)) throw new ApiError('InvalidCommandId', `The command ${commandId} does not exist.`);
    const details = input.Details === true;
    const rows = [...this.commands.values()]
      .filter((record) => !commandId || record.commandId === commandId)
      .flatMap((record) =>
        record.run.invocations
          .filter((invocation) => !instanceId || invocation.instanceId === instanceId)
          .map((invocation) => ({
            CommandId: record.commandId,
            InstanceId: invocation.instanceId,
            InstanceName: invocation.instanceName,
            Comment: record.comment,
            DocumentName: record.documentName,
            DocumentVersion: '$DEFAULT',
            RequestedDateTime: record.requestedAt / 1000,
            Status: invocation.status,
            StatusDetails: invocation.statusDetails,
            TraceOutput: '',
            StandardOutputUrl: this.outputUrl(record, invocation.instanceId, 'stdout'),
            StandardErrorUrl: this.outputUrl(record, invocation.instanceId, 'stderr'),
            ...(details
              ? {
                  CommandPlugins: [
                    {
                      Name: record.plugin,
                      Status: invocation.status,
                      StatusDetails: invocation.statusDetails,
                      ResponseCode: invocation.responseCode,
                      Output: combinedOutput(invocation.stdout, invocation.stderr),
                      StandardOutputUrl: this.outputUrl(record, invocation.instanceId, 'stdout'),
                      StandardErrorUrl: this.outputUrl(record, invocation.instanceId, 'stderr'),
                      ...(invocation.startedAt !== undefined ? { ResponseStartDateTime: invocation.startedAt / 1000 } : {}),
                      ...(invocation.endedAt !== undefined ? { ResponseFinishDateTime: invocation.endedAt / 1000 } : {}),
                    },
                  ],
                }
              : {}),
            ServiceRole: '',
            NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
            CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
          })),
      );
    return page(rows, input, 'CommandInvocations');
  }

  getInvocation(input: Record<string, unknown>): unknown {
    const commandId = typeof input.CommandId === 'string' ? input.CommandId : '';
    const instanceId = typeof input.InstanceId === 'string' ? input.InstanceId : '';
    const record = this.commands.get(commandId);
    if (!record) throw new ApiError('InvalidCommandId', `The command ${commandId || 'null'} does not exist.`);
    const invocation = record.run.invocations.find((candidate) => candidate.instanceId === instanceId);
    if (!invocation) throw new ApiError('InvocationDoesNotExist', 'An invocation for this command and instance does not exist.');
    if (input.PluginName !== undefined && input.PluginName !== record.plugin) throw new ApiError('InvalidPluginName', `The plugin ${String(input.PluginName)} is not in the document.`);
    const iso = (time: number | undefined) => (time === undefined ? '' : new Date(time).toISOString());
    const elapsed = invocation.startedAt !== undefined ? `PT${(((invocation.endedAt ?? this.now()) - invocation.startedAt) / 1000).toFixed(3)}S` : '';
    return {
      CommandId: commandId,
      InstanceId: instanceId,
      Comment: record.comment,
      DocumentName: record.documentName,
      DocumentVersion: '$DEFAULT',
      PluginName: record.plugin,
      ResponseCode: invocation.responseCode,
      ExecutionStartDateTime: iso(invocation.startedAt),
      ExecutionElapsedTime: elapsed,
      ExecutionEndDateTime: iso(invocation.endedAt),
      Status: invocation.status,
      StatusDetails: invocation.statusDetails,
      StandardOutputContent: truncateOutput(invocation.stdout),
      StandardOutputUrl: this.outputUrl(record, instanceId, 'stdout'),
      StandardErrorContent: truncateOutput(invocation.stderr),
      StandardErrorUrl: this.outputUrl(record, instanceId, 'stderr'),
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
    };
  }

  cancel(input: Record<string, unknown>): unknown {
    const commandId = typeof input.CommandId === 'string' ? input.CommandId : '';
    const record = this.commands.get(commandId);
    if (!record) throw new ApiError('InvalidCommandId', `The command ${commandId || 'null'} does not exist.`);
    const instanceIds = asStrings(input.InstanceIds);
    this.apply(record, record.run.cancel(instanceIds?.length ? instanceIds : undefined, this.now()));
    return {};
  }

  /** Starts and stops the processes the command's run asks for; each end is told back to it. */
  private apply(record: CommandRecord, actions: RunAction[]): void {
    for (const action of actions) {
      if (action.kind === 'stop') {
        record.processes.get(action.instanceId)?.stop();
        continue;
      }
      const instance = record.instances.find((candidate) => candidate.id === action.instanceId)!;
      const started = this.runner({ instance, commandId: record.commandId, shell: record.shell, commands: record.commands, timeoutSeconds: record.executionTimeout, region: this.config.region, root: this.root });
      record.processes.set(instance.id, started);
      void started.ended.then((end) => {
        record.processes.delete(instance.id);
        this.apply(record, record.run.finished(instance.id, end, this.now()));
      });
    }
  }

  /** The whole output of an invocation, as S3 would hold it: `<prefix>/<command>/<instance>/<plugin>/stdout`. */
  objectAt(bucket: string, key: string): Buffer | undefined {
    for (const record of this.commands.values()) {
      if (record.outputS3BucketName !== bucket) continue;
      for (const invocation of record.run.invocations) {
        for (const stream of ['stdout', 'stderr'] as const) {
          if (this.objectKey(record, invocation.instanceId, stream) === key) return invocation[stream];
        }
      }
    }
    return undefined;
  }

  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    for (const record of this.commands.values()) for (const process of record.processes.values()) process.stop();
  }

  private objectKey(record: CommandRecord, instanceId: string, stream: 'stdout' | 'stderr'): string {
    const prefix = record.outputS3KeyPrefix ? `${record.outputS3KeyPrefix.replace(/\/$/, '')}/` : '';
    return `${prefix}${record.commandId}/${instanceId}/${record.plugin.replace(':', '')}/${stream}`;
  }

  private outputUrl(record: CommandRecord, instanceId: string, stream: 'stdout' | 'stderr'): string {
    if (!record.outputS3BucketName) return '';
    return `${this.s3Base()}/${record.outputS3BucketName}/${this.objectKey(record, instanceId, stream)}`;
  }


  private describe(record: CommandRecord): Record<string, unknown> {
    const { status, details } = record.run.status;
    return {
      CommandId: record.commandId,
      DocumentName: record.documentName,
      DocumentVersion: '$DEFAULT',
      Comment: record.comment,
      ExpiresAfter: (record.requestedAt + (record.timeoutSeconds + Number(record.parameters.executionTimeout![0])) * 1000) / 1000,
      Parameters: record.parameters,
      InstanceIds: record.instanceIds,
      Targets: record.targets,
      RequestedDateTime: record.requestedAt / 1000,
      Status: status,
      StatusDetails: details,
      OutputS3Region: this.config.region,
      OutputS3BucketName: record.outputS3BucketName ?? '',
      OutputS3KeyPrefix: record.outputS3KeyPrefix ?? '',
      MaxConcurrency: record.maxConcurrency,
      MaxErrors: record.maxErrors,
      TargetCount: record.run.invocations.length,
      CompletedCount: record.run.completed,
      ErrorCount: record.run.errors,
      DeliveryTimedOutCount: record.run.deliveryTimedOut,
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      TimeoutSeconds: record.timeoutSeconds,
    };
  }

  /** Instance ids the caller named: each must be one the account manages. */
  private byIds(ids: string[]): InstanceConfig[] {
    const unknown = ids.filter((id) => !this.config.instances.some((instance) => instance.id === id));
    if (unknown.length) throw new ApiError('InvalidInstanceId', `Instances [[${unknown.join(', ')}]] not in a valid state for account 123456789012`);
    return ids.map((id) => this.config.instances.find((instance) => instance.id === id)!);
  }

  /** Targets: every key must hold (InstanceIds, tag:Key, tag-key), any of its values; at most 5 keys. */
  private byTargets(targets: Array<{ Key: string; Values: string[] }>): InstanceConfig[] {
    if (targets.length > 5) throw new ApiError('ValidationException', "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to 5");
    for (const target of targets) {
      if (typeof target?.Key !== 'string' || !asStrings(target.Values)?.length) throw new ApiError('InvalidTarget', 'Each target needs a Key and at least one value.');
      if (target.Key !== 'InstanceIds' && target.Key !== 'tag-key' && !/^tag:.+/.test(target.Key)) throw new ApiError('InvalidTarget', `The target key ${target.Key} is not valid.`);
    }
    const valuesOf = (instance: InstanceConfig, key: string): string[] => {
      if (key === 'InstanceIds') return [instance.id];
      if (key === 'tag-key') return Object.keys(tagsOf(instance));
      const value = tagsOf(instance)[key.slice(4)];
      return value === undefined ? [] : [value];
    };
    return this.config.instances.filter((instance) => targets.every((target) => valuesOf(instance, target.Key).some((value) => target.Values.includes(value))));
  }
}

/** The agent's Output of a plugin: stdout, then stderr under a heading, cut to 2,500 characters (iohandler.go). */
function combinedOutput(stdout: Buffer, stderr: Buffer): string {
  const text = stdout.toString('utf8') + (stderr.length ? `\n----------ERROR-------\n${stderr.toString('utf8')}` : '');
  return text.length > 2500 ? `${text.slice(0, 2500 - 22)}\n---Output truncated---` : text;
}

/** A page of a list, with the service's MaxResults (1 to 50) and an opaque NextToken. */
function page<T>(items: T[], input: Record<string, unknown>, field: string): Record<string, unknown> {
  const max = typeof input.MaxResults === 'number' ? input.MaxResults : 50;
  if (!Number.isInteger(max) || max < 1 || max > 50) throw new ApiError('ValidationException', "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 50");
  const start = typeof input.NextToken === 'string' ? Number(Buffer.from(input.NextToken, 'base64').toString('utf8')) : 0;
  if (!Number.isInteger(start) || start < 0) throw new ApiError('InvalidNextToken', 'The specified token is not valid.');
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? { NextToken: Buffer.from(String(start + max)).toString('base64') } : {};
  return { [field]: slice, ...next };
}

/**
 * The real runner: the commands in _script.sh in the instance's orchestration directory, run by the
 * document's shell in a process group of its own, stopped (SIGKILL, as the agent's killProcess) at
 * the execution timeout or on a cancel.
 */
export const spawnScript: ScriptRunner = ({ instance, commandId, shell, commands, timeoutSeconds, region, root }) => {
  const directory = join(root, instance.id, 'document', 'orchestration', commandId, shell[0] === 'pwsh' ? 'awsrunPowerShellScript' : 'awsrunShellScript');
  mkdirSync(directory, { recursive: true });
  const script = join(directory, shell[0] === 'pwsh' ? '_script.ps1' : '_script.sh');
  writeFileSync(script, `${commands.join('\n')}\n`, { mode: 0o700 });
  const child = spawn(shell[0]!, [...shell.slice(1), script], {
    cwd: join(root, instance.id),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AWS_SSM_INSTANCE_ID: instance.id, AWS_SSM_REGION_NAME: region, AWS_SSM_PLATFORM_NAME: instance.platformName },
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  let timedOut = false;
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, timeoutSeconds * 1000);
  const ended = new Promise<ProcessEnd>((resolve) => {
    let exited = false;
    const finish = (exitCode: number) => {
      if (exited) return;
      exited = true;
      clearTimeout(timer);
      // What the pipes still hold arrives before they close; a grandchild may keep them open, so not forever.
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(guard);
        resolve({ exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), timedOut });
      };
      const guard = setTimeout(done, 500);
      let open = 2;
      for (const stream of [child.stdout, child.stderr]) {
        if (stream.closed) open -= 1;
        else stream.once('close', () => --open === 0 && done());
      }
      if (open === 0) done();
    };
    child.once('error', (error) => {
      stderr.push(Buffer.from(`${error.message}\n`));
      finish(127);
    });
    // A signal's end is reported as a shell reports it, 128 + its number.
    child.once('exit', (code, signal) => finish(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
  return { stop: kill, ended };
};
