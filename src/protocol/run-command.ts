/**
 * Facts of Run Command that both sides use: the client (`ssmx run --targets`) reads results by
 * them, and the emulator produces them.
 */

/** Invocation statuses (CommandInvocationStatus) that will not change again. */
export const FINAL_STATUSES = ['Success', 'Failed', 'TimedOut', 'Cancelled'] as const;
export const isFinal = (status: string): boolean => (FINAL_STATUSES as readonly string[]).includes(status);

/** MaxConcurrency and MaxErrors as SendCommand validates them (the API's patterns). */
export const MAX_CONCURRENCY_PATTERN = /^([1-9][0-9]*|[1-9][0-9]%|[1-9]%|100%)$/;
export const MAX_ERRORS_PATTERN = /^([1-9][0-9]*|[0]|[1-9][0-9]%|[0-9]%|100%)$/;

/** What the agent reports for a process it stopped (a timeout, a cancel): 128 + SIGKILL (appconfig constants_unix.go). */
export const STOPPED_PREEMPTIVELY_EXIT_CODE = 137;

/** The agent keeps this many bytes of each stream for the service (appconfig MaxStdoutLength; runpluginutil.go applies it to stderr too). */
export const MAX_OUTPUT_BYTES = 24_000;
/** What replaces the end of a stream that was longer (iohandler.go DefaultOutputConfig). */
export const OUTPUT_TRUNCATED_SUFFIX = '--output truncated--';

/**
 * The agent's cut (pluginutil.go, StringPrefix): a stream of MAX_OUTPUT_BYTES bytes or more keeps
 * its first MAX_OUTPUT_BYTES - 20 bytes and the suffix, MAX_OUTPUT_BYTES in all.
 */
export function truncateOutput(output: Buffer): string {
  if (output.length < MAX_OUTPUT_BYTES) return output.toString('utf8');
  return output.subarray(0, MAX_OUTPUT_BYTES - OUTPUT_TRUNCATED_SUFFIX.length).toString('utf8') + OUTPUT_TRUNCATED_SUFFIX;
}

/**
 * Whether the service's copy of a stream is the agent's cut: it ends with the suffix and is as long
 * as the cut makes it (within a character split by the cut, which decodes as 3 bytes).
 */
export const wasTruncated = (content: string): boolean => content.endsWith(OUTPUT_TRUNCATED_SUFFIX) && Buffer.byteLength(content) >= MAX_OUTPUT_BYTES - 3;
