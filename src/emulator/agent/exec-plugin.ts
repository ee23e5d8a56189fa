import { spawn, type ChildProcess } from 'node:child_process';
import { PayloadType } from '../../protocol/constants.js';
import { AgentOutput } from './agent-output.js';
import { commandEnv, resolveCommand, startFailure, UNABLE_TO_START_DELAY_MS, type RunAsIdentity } from './command.js';
import type { AgentPlugin, PluginHost } from './plugin.js';

/** The agent sleeps this long before it sends an error about a command it could not run (shell.go, sendErrorToDataChannel). */
const ERROR_DELAY_MS = 1000;

/**
 * NonInteractiveCommands, as the agent runs it (agent/session/shell/shell.go and shell_unix.go):
 * - the command is split with shlex and run directly, with no shell and no stdin;
 * - with separate output streams, stdout goes as Output and stderr as StdErr as they come, and the
 *   status last as ExitCode `EXIT_CODE: n` (Go's ExitCode(): -1 for a command killed by a signal);
 * - without, both streams go to one file that the agent reads and sends only once the command has
 *   ended, as Output; no status is sent;
 * - a command that cannot start: `EXIT_CODE: 1` (separate streams), then the error as StdErr a
 *   second later; a command line shlex cannot split: "Unable to start command: …" as StdErr;
 * - input is only scanned for Ctrl-C and Ctrl-\, which become signals; Size is ignored.
 */
export class ExecPlugin implements AgentPlugin {
  private child: ChildProcess | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly host: PluginHost,
    private readonly command: string,
    private readonly separateOutputStream: boolean,
    /**
     * The Run As user, when the account's preferences name one (shell_unix.go: its uid, gid and
     * HOME), or why the agent cannot start the command as that user.
     */
    private readonly runAs?: RunAsIdentity | { error: string },
  ) {}

  start(): void {
    // Both fail in shell.go `execute` (getCommandExecutor), which marks the session Failed.
    if (this.runAs && 'error' in this.runAs) return this.fail(`Unable to start command: ${this.runAs.error}\n`, UNABLE_TO_START_DELAY_MS, 'Failed');
    const resolved = resolveCommand(this.command);
    if ('unableToStart' in resolved) return this.fail(resolved.unableToStart, resolved.delayMs, 'Failed');
    const [file, ...args] = resolved.words;
    const runAs = this.runAs as RunAsIdentity | undefined;
    const identity = runAs ? { uid: runAs.uid, gid: runAs.gid } : {};
    // Run As: the agent's own directory (/, where the emulator otherwise uses its HOME).
    const cwd = runAs ? '/' : (process.env.HOME ?? '/');
    const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd, env: { ...commandEnv(), ...(runAs ? { HOME: runAs.home } : {}) }, ...identity });
    this.child = child;
    const stdout = new AgentOutput();
    const stderr = new AgentOutput();
    // Without separate streams the agent sends the output file once the command is done.
    const collected: Buffer[] = [];
    const emit = (payloadType: number, output: AgentOutput, data: Buffer) => {
      for (const message of output.push(data)) {
        if (this.separateOutputStream) this.host.output(payloadType, message);
        else collected.push(message);
      }
    };
    child.stdout!.on('data', (data: Buffer) => emit(PayloadType.Output, stdout, data));
    child.stderr!.on('data', (data: Buffer) => emit(PayloadType.StdErr, stderr, data));
    child.on('error', (error: NodeJS.ErrnoException) => {
      this.child = undefined;
      const message = startFailure(file!, error);
      if (this.separateOutputStream) this.host.output(PayloadType.ExitCode, Buffer.from('EXIT_CODE: 1'));
      this.fail(message, ERROR_DELAY_MS);
    });
    child.on('close', (code, signal) => {
      if (!this.child) return;
      this.child = undefined;
      for (const message of collected) this.host.output(PayloadType.Output, message);
      if (this.separateOutputStream) {
        const status = signal ? -1 : (code ?? -1);
        this.host.output(PayloadType.ExitCode, Buffer.from(`EXIT_CODE: ${status}`));
      }
      this.host.done();
    });
  }

  input(payload: Buffer): void {
    if (payload.includes(0x03)) this.child?.kill('SIGINT');
    if (payload.includes(0x1c)) this.child?.kill('SIGQUIT');
  }

  resize(): void {}

  flag(): void {}

  pause(): void {
    this.child?.stdout?.pause();
    this.child?.stderr?.pause();
  }

  resume(): void {
    this.child?.stdout?.resume();
    this.child?.stderr?.resume();
  }

  /**
   * A cancelled session, as the agent ends it (shell.go, processCommandsWithOutputStreamSeparate
   * and processCommandsWithExec on `cancelled`): the command is killed (execCmd.Kill: SIGKILL to
   * the process itself, not its children), and the session worker, which held the reading ends
   * of its stdout and stderr, exits: what the command left running dies of SIGPIPE at its next
   * write (`cat /dev/zero | base64` no longer runs on for ever, read by no one).
   */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    const child = this.child;
    if (!child) return;
    child.kill('SIGKILL');
    child.stdout?.destroy();
    child.stderr?.destroy();
  }

  /** The error goes to the client as StdErr after the agent's pause, then the session ends. */
  private fail(message: string, delayMs: number, result?: 'Failed'): void {
    this.timer = setTimeout(() => {
      if (this.stopped) return;
      this.host.output(PayloadType.StdErr, Buffer.from(message));
      this.host.done('', result);
    }, delayMs);
  }
}
