import type { WriteStream } from 'node:tty';
import { AsciicastRecorder, recordingFile } from '../../session/recording.js';
import { parseEscapeChar } from '../../session/escapes.js';
import { awsFor } from '../aws-context.js';
import { runShellSession } from '../shell-session.js';
import { startDataChannel } from '../../lib/open.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { endedStatus } from '../session-ending.js';
import { UsageError } from '../errors.js';
import { startProgress } from '../progress.js';

export interface ShellOptions extends GlobalOptions {
  document?: string;
  parameters?: string;
  reason?: string;
  /** --record FILE: the session as an asciicast v2 recording; --record-input: keys typed too. */
  record?: string;
  recordInput?: boolean;
  /** --overwrite: --record may replace a file that is already there (as asciinema rec --overwrite). */
  overwrite?: boolean;
  /** --escape-char C, ^X or none (default ~). */
  escapeChar?: string;
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

/** `ssmx shell [target]`: start the session, open the data channel, join it to this terminal. */
export async function shellCommand(target: string | undefined, options: ShellOptions, context: CliContext): Promise<number> {
  const parameters = parseParameters(options.parameters);
  let escapeChar: number | undefined;
  try {
    escapeChar = parseEscapeChar(options.escapeChar ?? '~');
  } catch (error) {
    throw new UsageError((error as Error).message, 'for example --escape-char % or --escape-char none');
  }
  for (const [flag, given] of [['--record-input', options.recordInput], ['--overwrite', options.overwrite]] as const) {
    if (given && options.record === undefined) throw new UsageError(`${flag} is for --record FILE`, `ssmx shell web-1 --record web-1.cast ${flag}`);
  }
  // Before the target is looked up: a refused file must not come after a pick.
  const file = options.record !== undefined ? openRecording(options.record, options.overwrite === true) : undefined;
  const aws = awsFor(options, context, target);
  try {
    // The picker and the MFA prompt come before the spinner: they share the terminal.
    const instanceId = await aws.resolve(target);
    const recorder = file && startRecorder(file, `ssmx shell ${target ?? instanceId}`, instanceId, options.recordInput === true, context);
    const progress = startProgress(context, `Starting a session on ${instanceId}`, options);
    return await runShellSession(
      progress,
      context,
      { ...options, escapeChar },
      async (onStarted) => {
        const { session } = await startDataChannel({ target: instanceId, documentName: options.document, parameters, reason: options.reason }, aws.connect, (started) =>
          onStarted(started.sessionId),
        );
        return session;
      },
      recorder,
      (sessionId) => endedStatus(aws.ssm, sessionId),
    );
  } finally {
    file?.close();
    aws.destroy();
  }
}

/** --record FILE: opened mode 0600; one already there is a usage error unless --overwrite. */
function openRecording(path: string, overwrite: boolean): NonNullable<ReturnType<typeof recordingFile>> {
  let file: ReturnType<typeof recordingFile>;
  try {
    file = recordingFile(path, overwrite);
  } catch (error) {
    throw new UsageError(`cannot write the recording ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'give a file in a directory you can write to');
  }
  if (!file) throw new UsageError(`the recording ${path} already exists`, '--overwrite replaces it (as asciinema rec --overwrite)');
  return file;
}

/** The recorder that writes the session to the file as it goes, sized as the terminal is. */
function startRecorder(file: NonNullable<ReturnType<typeof recordingFile>>, command: string, target: string, withInput: boolean, context: CliContext): AsciicastRecorder {
  const [width, height] = context.stdoutIsTTY ? (context.stdout as WriteStream).getWindowSize() : [80, 24];
  return new AsciicastRecorder(file.line, () => context.timers.now(), { width, height, timestamp: Math.floor(Date.now() / 1000), command, title: `${command} (${target})`, target }, withInput);
}
