import type { IPty } from 'node-pty';
import { PTY_MISSING, discardInput, ptyInput, ptySpawn, readToEnd } from './pty.js';
import { PayloadType } from '../../protocol/constants.js';
import type { TerminalSize } from '../../protocol/payloads.js';
import { AgentOutput } from './agent-output.js';
import { commandEnv, type RunAsIdentity } from './command.js';
import type { AgentPlugin, PluginHost } from './plugin.js';

/** The agent waits this long before its first read of the PTY (agent shell.go, writePump). */
export const INITIAL_READ_WAIT_MS = 1000;

/**
 * Standard_Stream and InteractiveCommands: a real shell (or the document's command) in a real
 * PTY. Keystrokes go in unchanged; output comes out through the agent's output path (agent-output.ts).
 */
export class ShellPlugin implements AgentPlugin {
  private pty: IPty | undefined;
  private write: ((data: Buffer) => boolean) | undefined;
  private readonly output = new AgentOutput();
  private waitTimer: NodeJS.Timeout | undefined;
  private waiting = true;
  private pausedByHost = false;

  constructor(
    private readonly host: PluginHost,
    private readonly command: string[],
    /** The Run As user, when the account's preferences name one (shell_unix.go: its uid, gid and HOME). */
    private readonly runAs?: RunAsIdentity,
  ) {}

  start(): void {
    const spawnPty = ptySpawn();
    if (!spawnPty) return this.host.done(PTY_MISSING);
    const [file, ...args] = this.command as [string, ...string[]];
    const env = { ...commandEnv(), ...(this.runAs ? { HOME: this.runAs.home } : {}) } as Record<string, string>;
    this.pty = spawnPty(file, args, {
      name: 'xterm-256color',
      cols: 80,
      rows: 24,
      // Run As: the agent's own directory (/, where the emulator otherwise uses its HOME).
      cwd: this.runAs ? '/' : (process.env.HOME ?? '/'),
      env,
      ...(this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {}),
      encoding: null,
    } as Parameters<typeof spawnPty>[2]);
    // The agent's first read comes a second in; what the program writes before waits, as it
    // would in the PTY's buffer, and is delivered then, even when the program has already exited.
    const early: Buffer[] = [];
    let exited = false;
    // What the output path still holds at the end is not sent, as the agent's read loop ends at EOF.
    const finish = () => this.host.done();
    const emit = (data: Buffer) => {
      for (const message of this.output.push(data)) this.host.output(PayloadType.Output, message);
    };
    const receive = (bytes: Buffer) => {
      if (this.waiting) early.push(bytes);
      else emit(bytes);
    };
    this.write = ptyInput(this.pty, () => this.host.inputDrained());
    this.pty.onData((data) => receive(Buffer.from(data as unknown as Uint8Array)));
    readToEnd(this.pty, receive);
    this.pty.onExit(() => {
      exited = true;
      this.pty = undefined;
      // Input the PTY will never take no longer holds the client back.
      this.host.inputDrained();
      // node-pty reports the exit once its reader has closed, so the output has all arrived.
      if (!this.waiting) finish();
    });
    this.waitTimer = setTimeout(() => {
      this.waiting = false;
      for (const bytes of early.splice(0)) emit(bytes);
      if (exited) finish();
    }, INITIAL_READ_WAIT_MS);
  }

  /** False while the terminal has not taken it all: the host stops reading the client until it has. */
  input(payload: Buffer): boolean {
    return this.pty && this.write ? this.write(payload) : true;
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
    this.pty?.resume();
  }

  /**
   * A cancelled session (TerminateSession, an idle timeout), as the agent ends it
   * (agent/session/shell/shell.go, executeCommandsWithPty on `cancelled`): the shell is killed
   * (execCmd.Kill, SIGKILL) and the PTY closed (`stop`: its master closed), so the kernel hangs the
   * terminal up and its foreground process group (a pipeline the shell started) gets SIGHUP.
   */
  stop(): void {
    clearTimeout(this.waitTimer);
    const pty = this.pty;
    if (!pty) return;
    discardInput(pty);
    pty.kill('SIGKILL');
    // node-pty's UnixTerminal closes its master in destroy(), which IPty does not declare.
    (pty as unknown as { destroy?: () => void }).destroy?.();
  }
}
