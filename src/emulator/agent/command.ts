import { execFileSync } from 'node:child_process';
import { shlexSplit } from '../../protocol/shlex.js';

/**
 * The words the agent runs for a command that it does not hand to a shell (non-interactive
 * commands, and every command in container mode), or why it cannot start: agent/session/shell/
 * shell_unix.go `StartCommandExecutor` splits with shlex; a split that fails makes shell.go
 * `execute` wait 2 s and send "Unable to start command: Failed to parse commands input: …" (its
 * sendErrorToDataChannel waits 1 s more). A blank command runs `sh`.
 */
/** shell.go `execute` waits 2 s after a command it cannot start, and sendErrorToDataChannel 1 s more. */
export const UNABLE_TO_START_DELAY_MS = 3000;

export function resolveCommand(command: string): { words: string[] } | { unableToStart: string; delayMs: number } {
  if (command.trim() === '') return { words: ['sh'] };
  const split = shlexSplit(command);
  if ('error' in split) return { unableToStart: `Unable to start command: Failed to parse commands input: ${split.error}\n\n`, delayMs: UNABLE_TO_START_DELAY_MS };
  // Only a comment: the agent indexes the first of no words and its session worker fails; the
  // emulator ends the session with a message instead.
  if (split.words.length === 0) return { unableToStart: 'Unable to start command: the command has no words\n', delayMs: UNABLE_TO_START_DELAY_MS };
  return { words: split.words };
}

/**
 * The environment the agent gives a command: its own, with TERM=xterm-256color, and LANG=C.UTF-8
 * when it has no LANG (shell_unix.go: "Session Manager supports UTF-8 encoding only").
 */
export function commandEnv(): NodeJS.ProcessEnv {
  return { ...process.env, TERM: 'xterm-256color', ...(process.env.LANG ? {} : { LANG: 'C.UTF-8' }) };
}

/** Go's exec error for a command that does not start, as the agent passes it on. */
export function startFailure(file: string, error: NodeJS.ErrnoException): string {
  if (error.code === 'ENOENT') return file.includes('/') ? `fork/exec ${file}: no such file or directory` : `exec: "${file}": executable file not found in $PATH`;
  if (error.code === 'EACCES') return `fork/exec ${file}: permission denied`;
  return `fork/exec ${file}: ${error.message}`;
}

/** Who a Run As session's command runs as, and its HOME. */
export interface RunAsIdentity {
  uid: number;
  gid: number;
  home: string;
}

/**
 * The Run As user of the account's preferences, checked as the agent checks it before it starts
 * the command (agent/session/shell/shell_unix.go, StartCommandExecutor): the agent must run as
 * root, and the user must exist; either failure is the session's ("Unable to start command: …",
 * shell.go `execute`). `lookup` reads the user's passwd entry (getent here).
 */
export function runAsIdentity(user: string, euid: number, lookup: (user: string) => string | undefined): RunAsIdentity | { error: string } {
  if (euid !== 0) return { error: 'the agent must run as root to use RunAs' };
  const entry = lookup(user)?.split(':');
  if (!entry || entry.length < 7) return { error: `failed to start pty since RunAs user ${user} does not exist` };
  // HOME is /home/<user> whatever the passwd entry says (constants_unix.go, HomeEnvVariable);
  // the directory is the agent's own, as it sets no cmd.Dir: / for a service.
  return { uid: Number(entry[2]), gid: Number(entry[3]), home: `/home/${user}` };
}

/** A user's line of the passwd database (getent passwd), or undefined when there is none. */
export function passwdEntry(user: string): string | undefined {
  try {
    return execFileSync('getent', ['passwd', user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}
