import type { Alias } from './config-file.js';
import { UsageError } from './errors.js';
import { MAX_CONCURRENCY_PATTERN, MAX_ERRORS_PATTERN } from '../protocol/run-command.js';
import { shQuote } from '../protocol/shlex.js';
import { formatTable } from './table.js';
import { visibleControls } from './visible-controls.js';

/**
 * `ssmx run --targets`: what is pure in it — the targets as the service takes them, the script,
 * how each instance's result is shown, the summary and the exit status. The command's driver
 * (commands/fleet.ts) does the calls.
 */

/** SendCommand takes at most this many InstanceIds; Targets have no such bound. */
export const MAX_INSTANCE_IDS = 50;

export interface FleetTargets {
  /** Instance ids as given (InstanceIds), or … */
  instanceIds?: string[];
  /** … tag filters the service resolves (Targets): every key must match, any of its values. */
  tags?: Array<{ key: string; values: string[] }>;
}

/**
 * A comma list of instance ids, names (the Name tag), tag:Key=Value filters and aliases (from the
 * config file). Tags of different keys must all hold; several values of one key (names included)
 * are alternatives, as in Run Command's Targets. Ids are sent as InstanceIds, which the service
 * does not combine with tags.
 */
export function parseFleetTargets(text: string, aliases: Record<string, Alias> = {}): FleetTargets {
  const ids: string[] = [];
  const tags = new Map<string, string[]>();
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new UsageError(`--targets ${text}: an empty item`, 'for example --targets tag:Env=prod or --targets web-1,web-2');
  for (const given of items) {
    const item = aliases[given]?.target ?? given;
    if (/^(i-[0-9a-f]{8,17}|mi-[0-9a-f]{17})$/.test(item)) {
      if (!ids.includes(item)) ids.push(item);
      continue;
    }
    if (item.startsWith('ecs:')) throw new UsageError(`--targets: ${given} is an ECS container; Run Command reaches managed instances only`, 'use ssmx exec for a container');
    const tag = /^tag:([^=]+)=(.+)$/.exec(item);
    if (item.startsWith('tag:') && !tag) throw new UsageError(`--targets: ${given} is not a tag filter: it needs a key and a value`, 'for example tag:Env=prod');
    const [key, value] = tag ? [tag[1]!, tag[2]!] : ['Name', item];
    const values = tags.get(key) ?? [];
    if (!values.includes(value)) values.push(value);
    tags.set(key, values);
  }
  if (ids.length && tags.size) {
    throw new UsageError(`--targets ${text}: instance ids cannot be mixed with names or tags`, 'Run Command takes either instance ids or tag filters; run twice, or tag the instances');
  }
  if (ids.length > MAX_INSTANCE_IDS) throw new UsageError(`--targets: ${ids.length} instance ids; SendCommand takes at most ${MAX_INSTANCE_IDS}`, 'tag the instances and give tag:Key=Value');
  if (tags.size > 5) throw new UsageError(`--targets: ${tags.size} different tag keys; Run Command takes at most 5`);
  return ids.length ? { instanceIds: ids } : { tags: [...tags].map(([key, values]) => ({ key, values })) };
}

/** The targets as SendCommand's Targets. */
export const serviceTargets = (tags: Array<{ key: string; values: string[] }>) => tags.map((tag) => ({ Key: `tag:${tag.key}`, Values: tag.values }));


/**
 * The script each instance runs: the agent writes the commands into a file and runs it with `sh`
 * (runshellscript.go), so one string is shell syntax as it is, and several words are a program and
 * its arguments, quoted so that each arrives exactly.
 */
export const fleetScript = (words: string[]): string => (words.length === 1 ? words[0]! : words.map(shQuote).join(' '));

/** A count or a percentage, as --max-concurrency (at least 1) and --max-errors (0 allowed) take them. */
export function checkCountOrPercent(flag: string, value: string, zero: boolean): string {
  if (!(zero ? MAX_ERRORS_PATTERN : MAX_CONCURRENCY_PATTERN).test(value)) throw new UsageError(`${flag} ${value}: not ${zero ? 'a count (0 or more)' : 'a count (1 or more)'} or a percentage (${zero ? '0' : '1'}% to 100%)`, `for example ${flag} ${zero ? '1' : '10'} or ${flag} 10%`);
  return value;
}

/** One instance's result, as shown and as --json writes it. */
export interface FleetResult {
  instanceId: string;
  name: string;
  /** The service's Status and StatusDetails (Failed and Undeliverable, TimedOut and ExecutionTimedOut, …). */
  status: string;
  statusDetails: string;
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  seconds: number | undefined;
  /** The streams the service cut at 24,000 characters (and that S3 did not give whole). */
  truncated: Array<'stdout' | 'stderr'>;
}

/** The status a person reads: the details where they say more (Undeliverable, Terminated, DeliveryTimedOut). */
export const shownStatus = (result: Pick<FleetResult, 'status' | 'statusDetails'>): string =>
  result.statusDetails && result.statusDetails !== result.status && !['ExecutionTimedOut'].includes(result.statusDetails) ? result.statusDetails : result.status;

const COLORS = [36, 35, 33, 32, 34, 96];

/** How the output is shown: in colour, and which of stdout and stderr are terminals. */
export interface FleetShow {
  color: boolean;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
}

/**
 * Each line of the instance's output after its name and id (pdsh's way), coloured on a terminal.
 * On a terminal the instance's control characters are shown, not obeyed (visibleControls), so
 * its output cannot pass for another instance's; a pipe gets the bytes as they came.
 */
export function prefixedOutput(result: FleetResult, index: number, show: FleetShow): { stdout: string; stderr: string } {
  const label = result.name && result.name !== result.instanceId ? `${result.name} ${result.instanceId}` : result.instanceId;
  const lines = (text: string, terminal: boolean) => {
    if (text === '') return '';
    const shown = terminal ? visibleControls : (line: string) => line;
    const prefix = show.color ? `\x1b[${COLORS[index % COLORS.length]}m${shown(label)}:\x1b[0m ` : `${shown(label)}: `;
    return `${text.replace(/\n$/, '').split('\n').map((line) => `${prefix}${shown(line)}`).join('\n')}\n`;
  };
  return { stdout: lines(result.stdout, show.stdoutIsTTY), stderr: lines(result.stderr, show.stderrIsTTY) };
}

/** One JSON object per instance (--json), on one line. */
export const jsonLine = (result: FleetResult): string =>
  `${JSON.stringify({
    instanceId: result.instanceId,
    name: result.name,
    status: result.status,
    statusDetails: result.statusDetails,
    exitCode: result.exitCode ?? null,
    stdout: result.stdout,
    stderr: result.stderr,
    durationSeconds: result.seconds ?? null,
    truncated: result.truncated,
  })}\n`;

const duration = (seconds: number | undefined): string => (seconds === undefined ? '-' : seconds < 10 ? `${seconds.toFixed(2)}s` : seconds < 60 ? `${seconds.toFixed(1)}s` : `${Math.floor(seconds / 60)}m${Math.round(seconds % 60)}s`);

/** The summary on stderr: a row per instance, then the command's outcome in one line. */
export function summaryLines(results: FleetResult[], commandId: string, command: { status: string; statusDetails: string } | undefined): string[] {
  const rows = [['INSTANCE', 'NAME', 'STATUS', 'EXIT', 'DURATION'], ...results.map((result) => [result.instanceId, result.name || '-', shownStatus(result), result.exitCode === undefined ? '-' : String(result.exitCode), duration(result.seconds)])];
  const succeeded = results.filter((result) => result.status === 'Success').length;
  const outcome = command ? ` (${command.status}${command.statusDetails && command.statusDetails !== command.status ? `, ${command.statusDetails}` : ''})` : '';
  return [...formatTable(rows), `${succeeded} of ${results.length} succeeded; command ${commandId}${outcome}`];
}

/** 0 when every instance succeeded; 1 when any did not (failed, timed out, undeliverable, cancelled); none at all is 4. */
export function fleetExitCode(results: FleetResult[]): number {
  if (results.length === 0) return 4;
  return results.every((result) => result.status === 'Success') ? 0 : 1;
}
