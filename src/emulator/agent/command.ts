import { shlexSplit } from '../../protocol/shlex.js';

/**
 * The words the agent runs for a command that it does not hand to a shell (non-interactive
 * commands, and every command in container mode), or why it cannot start: agent/session/shell/
 * shell_unix.go `StartCommandExecutor` splits with shlex; a split that fails makes shell.go
 * `execute` wait 2 s and send "Unable to start command: Failed to parse commands input: …" (its
 * sendErrorToDataChannel waits 1 s more). A blank command runs `sh`.
 */
export function resolveCommand(command: string): { words: string[] } | { unableToStart: string; delayMs: number } {
  if (command.trim() === '') return { words: ['sh'] };
  const split = shlexSplit(command);
  if ('error' in split) return { unableToStart: `Unable to start command: Failed to parse commands input: ${split.error}\n\n`, delayMs: 3000 };
  // Only a comment: the agent indexes the first of no words and its session worker fails; the
  // emulator ends the session with a message instead.
  if (split.words.length === 0) return { unableToStart: 'Unable to start command: the command has no words\n', delayMs: 3000 };
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
