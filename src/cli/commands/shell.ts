import { createSsmClient, terminateSession, type AwsOptions } from '../../aws/ssm.js';
import { resolveTarget } from '../../aws/targets.js';
import { SessionError } from '../../session/errors.js';
import { runShell } from '../../session/shell.js';
import { openSession, withTimeout } from '../connect.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { signalExitCode } from '../exit-codes.js';
import { startProgress } from '../progress.js';

export interface ShellOptions extends GlobalOptions {
  document?: string;
  parameters?: string;
  reason?: string;
}

export function parseParameters(text: string | undefined): Record<string, string[]> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--parameters is not valid JSON: ${(error as Error).message}`, `for example --parameters '{"command":["uptime"]}'`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError('--parameters must be a JSON object of string lists', `for example --parameters '{"command":["uptime"]}'`);
  }
  const out: Record<string, string[]> = {};
  for (const [key, list] of Object.entries(value)) {
    out[key] = Array.isArray(list) ? list.map(String) : [String(list)];
  }
  return out;
}

/** The signals that end ssmx itself (keyboard signals go to the remote instead). */
const stopSignals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];

/** `ssmx shell <target>`: start the session, open the data channel, join it to this terminal. */
export async function shellCommand(target: string, options: ShellOptions, context: CliContext): Promise<number> {
  const parameters = parseParameters(options.parameters);
  const aws: AwsOptions = { region: options.region, profile: options.profile, endpointUrl: options.endpointUrl };
  const client = createSsmClient(aws);
  const progress = startProgress(context.stderr, `Starting a session on ${target}`, !options.quiet);
  let sessionId: string | undefined;
  let stoppedBy: NodeJS.Signals | undefined;
  const cleanups: Array<() => void> = [];
  try {
    const instanceId = await resolveTarget(client, target);
    const { session } = await openSession(client, { target: instanceId, documentName: options.document, parameters, reason: options.reason }, (started) => {
      sessionId = started.sessionId;
      progress.update(`Connecting to session ${started.sessionId}`);
    });
    session.once('ready', () => progress.stop());
    session.once('error', () => progress.stop());
    for (const signal of stopSignals) {
      const stop = () => {
        stoppedBy = signal;
        session.abort(new SessionError('INTERRUPTED', `stopped by ${signal}`));
      };
      process.on(signal, stop);
      cleanups.push(() => process.off(signal, stop));
    }
    const outcome = await runShell(session, { stdin: context.stdin, stdout: context.stdout, stderr: context.stderr });
    if (outcome.closed.output) context.stderr.write(`${outcome.closed.output}\n`);
    return outcome.exitCode ?? 0;
  } catch (error) {
    progress.stop();
    // A session that did not end by itself is ended on the service, so nothing lingers there.
    if (sessionId !== undefined) await withTimeout(terminateSession(client, sessionId), 2000);
    if (stoppedBy) return signalExitCode(stoppedBy);
    throw error;
  } finally {
    for (const cleanup of cleanups) cleanup();
    client.destroy();
  }
}
