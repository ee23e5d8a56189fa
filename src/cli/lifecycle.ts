import type { DataChannelSession } from '../session/data-channel-session.js';
import { SessionError } from '../session/errors.js';
import type { SignalSource } from '../session/signals.js';
import { signalExitCode } from './exit-codes.js';

export { processSignals, type SignalSource } from '../session/signals.js';

export interface LifecycleOptions {
  signals: SignalSource;
  /** The signals that end the command (keyboard signals a shell sends to the remote are not among them). */
  stopSignals: readonly NodeJS.Signals[];
  /** The exit status after a stop signal: 128+N unless the command says otherwise (forward: 0). */
  exitStatus?: (signal: NodeJS.Signals) => number;
  /** Said at once when a stop signal arrives, before the sessions are ended. */
  onStop?: (signal: NodeJS.Signals) => void;
}

/**
 * The one way a command lives with its sessions: run the work until it settles or a stop signal
 * arrives; then end every session it opened on the service (flag or API, as the agent allows) —
 * nothing lingers — and turn a stop into its exit status. Shell, run, exec, proxy, forward and the
 * drop-in plugin all run through here.
 */
export class Lifecycle {
  private readonly sessions = new Set<DataChannelSession>();
  private stoppedBy: NodeJS.Signals | undefined;
  private interrupt: ((error: SessionError) => void) | undefined;
  private readonly removals: Array<() => void> = [];

  constructor(private readonly options: LifecycleOptions) {}

  /** A session this command opened: ended with the command, whatever way it ends. */
  track(session: DataChannelSession): DataChannelSession {
    this.sessions.add(session);
    // One the service has closed needs nothing more at the end: it is let go (a forward that runs
    // all day replaces such sessions, and would otherwise keep every one it ever had).
    session.once('closed', () => this.sessions.delete(session));
    if (this.stoppedBy) void session.terminate(this.reason(this.stoppedBy));
    return session;
  }

  /** A session the command has ended on the service itself: nothing more to do for it at the end. */
  forget(session: DataChannelSession): void {
    this.sessions.delete(session);
  }

  /** From now on these signals stop the command too (the plugin's tunnel takes the keyboard's). */
  alsoStopOn(signals: readonly NodeJS.Signals[]): void {
    this.removals.push(this.options.signals.on(signals, (signal) => this.stop(signal)));
  }

  async run(work: () => Promise<number>): Promise<number> {
    const interrupted = new Promise<never>((_, reject) => (this.interrupt = reject));
    interrupted.catch(() => undefined);
    this.alsoStopOn(this.options.stopSignals);
    try {
      return await Promise.race([work(), interrupted]);
    } catch (error) {
      if (this.stoppedBy) {
        await this.endAll();
        return (this.options.exitStatus ?? signalExitCode)(this.stoppedBy);
      }
      throw error;
    } finally {
      for (const remove of this.removals.splice(0)) remove();
      await this.endAll();
    }
  }

  private stop(signal: NodeJS.Signals): void {
    if (this.stoppedBy) return;
    this.stoppedBy = signal;
    this.options.onStop?.(signal);
    this.interrupt?.(this.reason(signal));
    for (const session of this.sessions) void session.terminate(this.reason(signal));
  }

  private reason(signal: NodeJS.Signals): SessionError {
    return new SessionError('INTERRUPTED', `stopped by ${signal}`);
  }

  private endAll(): Promise<unknown> {
    return Promise.all([...this.sessions].map((session) => session.terminate()));
  }
}
