import { spawn as spawnPty, type IPty } from 'node-pty';
import { PayloadType, StreamDataPayloadSize } from '../../protocol/constants.js';
import type { TerminalSize } from '../../protocol/payloads.js';
import { Utf8Chunker } from './utf8-chunker.js';
import type { AgentPlugin, PluginHost } from './plugin.js';

/** The agent waits this long before its first read of the PTY (agent shell.go, writePump). */
export const INITIAL_READ_WAIT_MS = 1000;

/**
 * Standard_Stream and InteractiveCommands: a real shell (or the document's command) in a real
 * PTY. Keystrokes go in unchanged; output comes out in ≤1024-byte UTF-8-whole messages.
 */
export class ShellPlugin implements AgentPlugin {
  private pty: IPty | undefined;
  private readonly chunker = new Utf8Chunker(StreamDataPayloadSize);
  private waitTimer: NodeJS.Timeout | undefined;
  private waiting = true;
  private pausedByHost = false;

  constructor(
    private readonly host: PluginHost,
    private readonly command: string[],
  ) {}

  start(): void {
    const [file, ...args] = this.command as [string, ...string[]];
    const env = { ...process.env, TERM: process.env.TERM ?? 'xterm-256color' } as Record<string, string>;
    this.pty = spawnPty(file, args, {
      name: 'xterm-256color',
      cols: 80,
      rows: 24,
      cwd: process.env.HOME ?? '/',
      env,
      encoding: null,
    } as Parameters<typeof spawnPty>[2]);
    this.pty.pause();
    this.pty.onData((data) => {
      for (const chunk of this.chunker.push(Buffer.from(data as unknown as Uint8Array))) this.host.output(PayloadType.Output, chunk);
    });
    this.pty.onExit(() => {
      for (const chunk of this.chunker.flush()) this.host.output(PayloadType.Output, chunk);
      this.pty = undefined;
      this.host.done();
    });
    this.waitTimer = setTimeout(() => {
      this.waiting = false;
      if (!this.pausedByHost) this.pty?.resume();
    }, INITIAL_READ_WAIT_MS);
  }

  input(payload: Buffer): void {
    this.pty?.write(payload as unknown as string);
  }

  resize(size: TerminalSize): void {
    if (size.cols > 0 && size.rows > 0) this.pty?.resize(size.cols, size.rows);
  }

  flag(): void {
    // Flags are for port sessions; a shell ignores them.
  }

  pause(): void {
    this.pausedByHost = true;
    this.pty?.pause();
  }

  resume(): void {
    this.pausedByHost = false;
    if (!this.waiting) this.pty?.resume();
  }

  stop(): void {
    clearTimeout(this.waitTimer);
    this.pty?.kill('SIGHUP');
  }
}
