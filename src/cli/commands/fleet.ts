import { AwsError } from '../../aws/errors.js';
import { cancelCommand, commandStatus, fetchS3Object, getInvocation, listInvocations, sendCommand, type CommandState } from '../../aws/run-command.js';
import { findByIds, findByTags, type ManagedInstance } from '../../aws/targets.js';
import { awsFor } from '../aws-context.js';
import { loadSsmxConfig } from '../config-file.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { signalExitCode } from '../exit-codes.js';
import {
  checkCountOrPercent,
  fleetExitCode,
  fleetScript,
  jsonLine,
  parseFleetTargets,
  prefixedOutput,
  serviceTargets,
  summaryLines,
  type FleetResult,
} from '../fleet.js';
import { startProgress } from '../progress.js';
import { isFinal, wasTruncated } from '../../protocol/run-command.js';

export interface FleetOptions extends GlobalOptions {
  targets: string;
  maxConcurrency?: string;
  maxErrors?: string;
  /** The execution timeout on each instance, in seconds. */
  timeout?: string;
  comment?: string;
  json?: boolean;
  outputS3Bucket?: string;
  outputS3Prefix?: string;
}

/** How often the invocations are asked for: soon at first, then every 2 s (the service's rates are per second). */
const FIRST_POLL_MS = 250;
const MAX_POLL_MS = 2000;
/** After a cancel, how long to wait for the instances to say they stopped. */
const CANCEL_WAIT_MS = 30_000;
const MAX_EXECUTION_TIMEOUT_S = 172_800;
/** Polls at which a finished invocation may still have no result before it is shown without one. */
const MAX_MISSING_RESULTS = 5;

/**
 * `ssmx run --targets …`: one SendCommand, the service fans out; each instance's output as it
 * finishes, then a summary. Ctrl-C cancels the command on the service (CancelCommand).
 */
export async function fleetCommand(words: string[], options: FleetOptions, context: CliContext): Promise<number> {
  if (words.length === 0) throw new UsageError('no command given', "ssmx run --targets tag:Env=prod -- 'systemctl is-active app'");
  const spec = parseFleetTargets(options.targets, loadSsmxConfig(context.env).aliases);
  const maxConcurrency = options.maxConcurrency === undefined ? undefined : checkCountOrPercent('--max-concurrency', options.maxConcurrency, false);
  const maxErrors = options.maxErrors === undefined ? undefined : checkCountOrPercent('--max-errors', options.maxErrors, true);
  const timeout = options.timeout === undefined ? undefined : Number(options.timeout);
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 1 || timeout > MAX_EXECUTION_TIMEOUT_S)) {
    throw new UsageError(`--timeout ${options.timeout}: the execution timeout is a whole number of seconds from 1 to ${MAX_EXECUTION_TIMEOUT_S}`);
  }
  if (options.comment !== undefined && options.comment.length > 100) throw new UsageError('--comment: at most 100 characters (the service\'s limit)');
  if (options.outputS3Prefix !== undefined && options.outputS3Bucket === undefined) throw new UsageError('--output-s3-prefix needs --output-s3-bucket');

  const aws = awsFor(options, context);
  const say = (line: string) => !options.quiet && context.stderr.write(`ssmx: ${line}\n`);
  const colorOut = options.color !== false && context.env.NO_COLOR === undefined && context.stdoutIsTTY;
  let stoppedBy: NodeJS.Signals | undefined;
  let commandId: string | undefined;
  let wake: (() => void) | undefined;
  let abandoned = false;
  const removeSignals = context.signals.on(['SIGINT', 'SIGTERM', 'SIGHUP'], (signal) => {
    if (stoppedBy) {
      abandoned = true;
      wake?.();
      return;
    }
    stoppedBy = signal;
    if (commandId) cancel(commandId);
    wake?.();
  });
  const cancel = (id: string) => {
    say(`cancelling command ${id} (CancelCommand); waiting for the instances to stop (again to stop waiting)`);
    // A command id exists only once SendCommand answered, so the SDK's client is made by then.
    aws.ssm.sdk().then((ssm) => cancelCommand(ssm, id)).catch((error: unknown) => say(`the cancel failed: ${(error as Error).message}`));
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = context.timers.setTimeout(() => resolve(), ms);
      wake = () => {
        context.timers.clearTimeout(timer);
        resolve();
      };
    });

  try {
    const progress = startProgress(context, `Looking up ${options.targets}`, options);
    let instances: ManagedInstance[];
    try {
      if (spec.instanceIds) {
        const { found, unknown } = await findByIds(aws.targets(), spec.instanceIds);
        if (unknown.length) throw new AwsError('target', 'UnknownTarget', `not managed instances in this account and region: ${unknown.join(', ')}`, 'ssmx list shows the instances there');
        instances = found;
      } else {
        instances = await findByTags(aws.targets(), spec.tags!);
      }
    } finally {
      progress.stop();
    }
    if (instances.length === 0) {
      throw new AwsError('target', 'UnknownTarget', `no managed instance matches --targets ${options.targets}`, 'ssmx list shows the instances and their names; tags are tag:Key=Value');
    }
    if (stoppedBy) return signalExitCode(stoppedBy);
    // The agent runs AWS-RunShellScript with sh, AWS-RunPowerShellScript with PowerShell: one document per command.
    const windows = instances.filter((instance) => instance.platformType === 'Windows');
    if (windows.length && windows.length < instances.length) {
      throw new UsageError(`--targets ${options.targets} matches Windows and other instances; one command runs one kind of script`, 'narrow --targets to one platform (a tag), and run once for each');
    }
    const documentName = windows.length ? 'AWS-RunPowerShellScript' : 'AWS-RunShellScript';
    const names = new Map(instances.map((instance) => [instance.id, instance.name]));

    // Run Command goes through the SDK's SSM client, loaded here (src/aws/ssm.ts).
    const ssm = await aws.ssm.sdk();
    commandId = await sendCommand(ssm, {
      documentName,
      ...(spec.instanceIds ? { instanceIds: spec.instanceIds } : { targets: serviceTargets(spec.tags!) }),
      commands: [fleetScript(words)],
      ...(timeout !== undefined ? { executionTimeout: timeout } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(maxConcurrency ? { maxConcurrency } : {}),
      ...(maxErrors ? { maxErrors } : {}),
      ...(options.outputS3Bucket ? { outputS3BucketName: options.outputS3Bucket } : {}),
      ...(options.outputS3Prefix ? { outputS3KeyPrefix: options.outputS3Prefix } : {}),
    });
    say(`command ${commandId} (${documentName}) sent to ${instances.length} instance${instances.length === 1 ? '' : 's'} matching ${options.targets}`);
    if (stoppedBy) cancel(commandId);

    const results: FleetResult[] = [];
    const reported = new Set<string>();
    const missing = new Map<string, number>();
    let state: CommandState | undefined;
    let delay = FIRST_POLL_MS;
    let cancelDeadline: number | undefined;
    for (;;) {
      const [command, invocations] = await Promise.all([commandStatus(ssm, commandId), listInvocations(ssm, commandId)]);
      state = command;
      for (const invocation of invocations) {
        if (!isFinal(invocation.status) || reported.has(invocation.instanceId)) continue;
        const fetched = await getInvocation(ssm, commandId, invocation.instanceId);
        if (fetched && !isFinal(fetched.status)) continue;
        // The service may list an invocation before it gives its result: asked again at the next
        // polls; one that still has none (never delivered) is shown as the list has it, with no output.
        const misses = (missing.get(invocation.instanceId) ?? 0) + (fetched ? 0 : 1);
        missing.set(invocation.instanceId, misses);
        if (!fetched && misses < MAX_MISSING_RESULTS) continue;
        const got = fetched ?? { status: invocation.status, statusDetails: invocation.statusDetails, exitCode: undefined, stdout: '', stderr: '', stdoutUrl: '', stderrUrl: '', seconds: undefined };
        const result: FleetResult = {
          instanceId: invocation.instanceId,
          name: names.get(invocation.instanceId) || invocation.instanceName,
          status: got.status,
          statusDetails: got.statusDetails,
          exitCode: got.exitCode,
          stdout: got.stdout,
          stderr: got.stderr,
          seconds: got.seconds,
          truncated: [],
        };
        for (const stream of ['stdout', 'stderr'] as const) {
          if (!wasTruncated(result[stream])) continue;
          const url = stream === 'stdout' ? got.stdoutUrl : got.stderrUrl;
          if (options.outputS3Bucket && url) {
            try {
              result[stream] = await fetchS3Object(ssm, url);
              continue;
            } catch (error) {
              say(`${result.name || result.instanceId} ${result.instanceId}: the whole ${stream} could not be read from S3: ${(error as Error).message}`);
            }
          }
          result.truncated.push(stream);
        }
        reported.add(invocation.instanceId);
        results.push(result);
        show(result, results.length - 1);
      }
      const settled = state !== undefined && isFinal(state.status) && invocations.every((invocation) => reported.has(invocation.instanceId));
      if (settled || abandoned) break;
      if (stoppedBy) {
        cancelDeadline ??= context.timers.now() + CANCEL_WAIT_MS;
        if (context.timers.now() >= cancelDeadline) {
          say('the instances did not all say they stopped; not waiting longer');
          break;
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, MAX_POLL_MS);
    }

    results.sort((a, b) => (a.name || a.instanceId).localeCompare(b.name || b.instanceId) || a.instanceId.localeCompare(b.instanceId));
    if (!options.quiet) context.stderr.write(`${summaryLines(results, commandId, state).join('\n')}\n`);
    if (stoppedBy) return signalExitCode(stoppedBy);
    return fleetExitCode(results);
  } finally {
    removeSignals();
    aws.destroy();
  }

  function show(result: FleetResult, index: number): void {
    if (options.json) {
      context.stdout.write(jsonLine(result));
    } else {
      const { stdout, stderr } = prefixedOutput(result, index, { color: colorOut, stdoutIsTTY: context.stdoutIsTTY, stderrIsTTY: context.stderrIsTTY });
      if (stdout) context.stdout.write(stdout);
      if (stderr) context.stderr.write(stderr);
    }
    for (const stream of result.truncated) {
      say(`${result.name ? `${result.name} ` : ''}${result.instanceId}: the service kept only the first 24,000 characters of its ${stream}${options.outputS3Bucket ? '' : '; --output-s3-bucket keeps it whole'}`);
    }
  }
}
