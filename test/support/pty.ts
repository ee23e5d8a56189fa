import { createRequire } from 'node:module';
import type { IPty } from 'node-pty';

// Loaded when a test first opens a terminal, not on import: where node-pty could not be built, the
// files that import this one are skipped by their needs-node-pty tag (test/support/tools.ts), and
// an import that failed would fail them instead.
let nodePty: typeof import('node-pty') | undefined;
const spawn: typeof import('node-pty').spawn = (...args) => (nodePty ??= createRequire(import.meta.url)('node-pty') as typeof import('node-pty')).spawn(...args);

export interface PtyRun {
  pty: IPty;
  /** Everything the program wrote to the terminal so far. */
  output(): string;
  write(data: string): void;
  /** Resolves once the output since `from` matches; rejects with the output on timeout. */
  waitFor(pattern: RegExp | string, options?: { timeoutMs?: number; from?: number }): Promise<string>;
  exited: Promise<{ exitCode: number; signal?: number; at: number }>;
}

/** Runs a program in a real pseudo-terminal, as a user's terminal emulator would. */
export function runInPty(file: string, args: string[], options: { env: NodeJS.ProcessEnv; cols?: number; rows?: number; cwd?: string }): PtyRun {
  const pty = spawn(file, args, {
    name: 'xterm-256color',
    cols: options.cols ?? 80,
    rows: options.rows ?? 24,
    cwd: options.cwd ?? process.cwd(),
    env: options.env as Record<string, string>,
  });
  let buffer = '';
  const waiters = new Set<() => void>();
  pty.onData((data) => {
    buffer += data;
    for (const waiter of [...waiters]) waiter();
  });
  const exited = new Promise<{ exitCode: number; signal?: number; at: number }>((resolve) =>
    pty.onExit((event) => resolve({ ...event, at: Date.now() })),
  );
  return {
    pty,
    output: () => buffer,
    write: (data) => pty.write(data),
    waitFor(pattern, { timeoutMs = 10_000, from = 0 } = {}) {
      const matches = () => {
        const text = buffer.slice(from);
        return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      };
      if (matches()) return Promise.resolve(buffer.slice(from));
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!matches()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(buffer.slice(from));
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${String(pattern)}; terminal showed:\n${JSON.stringify(buffer.slice(from).slice(-2000))}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    exited,
  };
}
