import { spawn } from 'node:child_process';
import { closeSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import type { CliContext } from './context.js';
import { selfInvocation } from './self.js';

export interface ReadyOptions {
  /** Written, whole and mode 0600, once every listener is ready; removed when ssmx ends. */
  readyFile?: string | undefined;
  /** Written to once every listener is ready, then closed. */
  readyFd?: number | undefined;
}

/**
 * Tells a script that every listener of a forward is ready, so that it never races the tunnel:
 * the JSON lines go into a file (renamed into place, so it is never seen half written) or down a
 * descriptor that is then closed. Returns what undoes it when the forward ends.
 */
export function announceReady(lines: string[], options: ReadyOptions): () => void {
  const text = lines.map((line) => `${line}\n`).join('');
  if (options.readyFd !== undefined) {
    writeSync(options.readyFd, text);
    closeSync(options.readyFd);
  }
  if (options.readyFile === undefined) return () => undefined;
  const file = options.readyFile;
  const partial = `${file}.${process.pid}.partial`;
  writeFileSync(partial, text, { mode: 0o600 });
  renameSync(partial, file);
  return () => rmSync(file, { force: true });
}

/** A ready file left by a run that crashed would tell the next script the tunnel is up: it goes first. */
export function clearReadyFile(options: ReadyOptions): void {
  if (options.readyFile !== undefined) rmSync(options.readyFile, { force: true });
}

/** The environment variable that tells a forward it was started by --background. */
export const BACKGROUND_CHILD = 'SSMX_BACKGROUND_CHILD';

/** The descriptor a background forward reports its readiness on. */
const READY_FD = 3;

/**
 * `forward --background`: the same forward, started again as a detached process (its own
 * session, so the terminal's hang-up does not reach it), which reports on a pipe once every
 * listener is ready. Until then its errors are passed on and its failure is this one's; once
 * ready, the listener lines (with its pid) are printed and this process exits.
 */
export function runInBackground(args: string[], context: CliContext): Promise<number> {
  const childArgs = [...args.filter((arg) => arg !== '--background'), '--json', '--ready-fd', String(READY_FD)];
  const [program, ...words] = selfInvocation();
  const child = spawn(program!, [...words, ...childArgs], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
    env: { ...context.env, [BACKGROUND_CHILD]: '1' },
  });
  const ready = child.stdio[READY_FD] as NodeJS.ReadableStream;
  let report = '';
  child.stderr!.on('data', (data: Buffer) => context.stderr.write(data));
  ready.on('data', (data: Buffer) => (report += data.toString()));
  return new Promise((resolve) => {
    const exited = (code: number | null) => resolve(code ?? 1);
    child.once('exit', exited);
    ready.once('end', () => {
      if (report.trim() === '') return; // it ended without being ready: its exit decides
      child.off('exit', exited);
      for (const line of report.trim().split('\n')) context.stdout.write(`${JSON.stringify({ ...JSON.parse(line), pid: child.pid })}\n`);
      context.stderr.write(`ssmx: forwarding in the background, pid ${child.pid}: kill ${child.pid} ends it\n`);
      child.stderr!.destroy();
      child.unref();
      resolve(0);
    });
  });
}
