import { shlexQuote } from '../protocol/shlex.js';
import { AwsError } from '../aws/errors.js';
import type { SsmClients } from '../aws/ssm.js';
import { describeManagedInstance } from '../aws/targets.js';
import { UsageError } from '../errors.js';
import { RUN_DOCUMENT } from './names.js';

/** The fallback without RUN_DOCUMENT: output combined, no exit status from the agent. */
export const FALLBACK_RUN_DOCUMENT = 'AWS-StartNonInteractiveCommand';

/**
 * The command line to give the agent, which splits it with shlex and runs the words with no shell
 * (docs/protocol.md §7): one string is shell syntax, so it goes to `sh -c` whole; several words are
 * a command and its arguments, each quoted so that it arrives intact.
 */
export const agentCommandLine = (words: string[]): string =>
  words.length === 1 ? `sh -c ${shlexQuote(words[0]!)}` : words.map(shlexQuote).join(' ');

/** The command goes to a POSIX shell (sh -c); a Windows instance has PowerShell instead. */
export async function refuseWindows(ssm: SsmClients, instanceId: string, target: string): Promise<void> {
  const platformType = (await describeManagedInstance(ssm.session, instanceId))?.PlatformType;
  if (platformType === 'Windows') {
    throw new UsageError(`${target} is a Windows instance: ssmx run speaks to a POSIX shell, not to PowerShell`, 'use ssmx shell, or aws ssm send-command with AWS-RunPowerShellScript');
  }
}

/**
 * A command's session under RUN_DOCUMENT, whose agent keeps stdout and stderr apart and reports the
 * exit status; where the account lacks the document, under the fallback (`combined`), after
 * `onFallback` has heard of it.
 */
export async function startRunSession<T>(start: (documentName: string) => Promise<T>, onFallback: () => void): Promise<{ opened: T; combined: boolean }> {
  try {
    return { opened: await start(RUN_DOCUMENT), combined: false };
  } catch (error) {
    if (!(error instanceof AwsError && error.code === 'InvalidDocument')) throw error;
    onFallback();
    return { opened: await start(FALLBACK_RUN_DOCUMENT), combined: true };
  }
}
