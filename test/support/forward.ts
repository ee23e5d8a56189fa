import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ssmxBin } from './emulator.js';

export interface ForwardProcess {
  child: ChildProcess;
  /** One JSON object per listener, from --json. */
  listeners: Array<{ local: string; localPort: number | null; localSocket: string | null; mode: string; sessions: string[] }>;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `ssmx forward … --json` (ssmx: the words that run it) and waits for one JSON line per spec. */
export async function startForward(env: NodeJS.ProcessEnv, args: string[], listenerCount = 1, ssmx: string[] = [process.execPath, ssmxBin]): Promise<ForwardProcess> {
  const [program, ...words] = ssmx;
  const child = spawn(program!, [...words, 'forward', ...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout! });
  const listeners: ForwardProcess['listeners'] = [];
  await new Promise<void>((resolve, reject) => {
    lines.on('line', (line) => {
      listeners.push(JSON.parse(line));
      if (listeners.length === listenerCount) resolve();
    });
    child.once('exit', (code) => reject(new Error(`ssmx forward exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    listeners,
    stderr: () => stderr,
    stop: async (signal = 'SIGINT') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
