import { describeFrame } from '../protocol/describe.js';
import type { AgentMessage } from '../protocol/message.js';
import type { ChannelClosed } from '../protocol/payloads.js';
import type { ChannelError } from './errors.js';
import type { ChannelEvent, ReliableChannel } from './reliable-channel.js';
import type { Timers, TimerHandle } from './timers.js';

/** What the owner of a channel does with its events; `write` puts a frame on the link. */
export interface DriverHooks {
  write(frame: Buffer): void;
  /**
   * A message for the consumer. False says the consumer is full (the agent's plugin write blocks):
   * the events after it, and every frame received meanwhile, wait for `resumeDelivery`.
   */
  deliver(message: AgentMessage): boolean | void;
  writable?(): void;
  acknowledged?(): void;
  closed?(closed: ChannelClosed): void;
  failed(error: ChannelError): void;
  /** After each batch of events has been handled (the agent checks whether it may close). */
  settled?(): void;
}

/** One line a frame for --debug; see describeFrame. */
export type WireDebug = (line: string) => void;

/**
 * Joins a ReliableChannel to a link: feeds it frames and time, carries out the events it returns,
 * and keeps one retransmission timer armed at its next deadline. The client's session and the
 * emulator's agent both use it, so the loop exists once.
 *
 * While the link is down (`linkDown`) frames the channel writes stay among its unacknowledged
 * messages and  no timer runs; `linkUp` resends them all on the new link.
 */
export class ChannelDriver {
  private timer: TimerHandle | undefined;
  private isOnline = true;
  private stopped = false;
  /** The events of the frame being received: one array for them all (see receive). */
  private readonly received: ChannelEvent[] = [];
  private receiving = false;
  /** Held by a consumer that was full: the rest of its batch, then the frames that came after. */
  private held: ChannelEvent[] | undefined;
  private readonly heldFrames: Buffer[] = [];

  constructor(
    readonly channel: ReliableChannel,
    private readonly timers: Timers,
    private readonly hooks: DriverHooks,
    private readonly debug?: WireDebug,
  ) {}

  receive(frame: Buffer): void {
    if (this.stopped) return;
    if (this.held) {
      this.heldFrames.push(frame);
      return;
    }
    this.debug?.(`← ${describeFrame(frame)}`);
    // One array for the events of every frame received, unless a frame comes while the last one's
    // events are still being carried out.
    const events = this.receiving ? [] : this.received;
    this.receiving = true;
    try {
      this.apply(this.channel.receive(frame, this.timers.now(), events));
    } finally {
      if (events === this.received) {
        // Emptied by pops: `length = 0` goes through V8's runtime, some 60 ns a frame against 7.
        while (events.length > 0) events.pop();
        this.receiving = false;
      }
    }
  }

  /** The consumer that refused a delivery has room again: what waited behind it goes on, in order. */
  resumeDelivery(): void {
    const held = this.held;
    if (!held || this.stopped) return;
    this.held = undefined;
    this.apply(held);
    while (!this.held && !this.stopped && this.heldFrames.length > 0) this.receive(this.heldFrames.shift()!);
  }

  send(payloadType: number, payload: Buffer): void {
    if (this.stopped) return;
    this.apply(this.channel.send(payloadType, payload, this.timers.now()));
  }

  get linkIsUp(): boolean {
    return this.isOnline;
  }

  linkDown(): void {
    this.isOnline = false;
    this.disarm();
  }

  /** The link is back: everything unacknowledged goes again, oldest first. */
  linkUp(): void {
    this.isOnline = true;
    if (this.stopped) return;
    this.debug?.(`link up: resending ${this.channel.inFlight} unacknowledged`);
    this.apply(this.channel.retransmitAll(this.timers.now()));
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  private apply(events: ChannelEvent[]): void {
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      if (this.stopped) return;
      switch (event.kind) {
        case 'write':
          if (!this.isOnline) {
            // It waits among the unacknowledged, and goes with the resend once the link is back.
            this.debug?.(`held, the link is down: ${describeFrame(event.frame)}`);
            break;
          }
          if (this.debug) this.debug(`→ ${describeFrame(event.frame)}${event.resend ? ` (resend, timeout ${Math.round(event.resend.timeout)} ms)` : ''}`);
          this.hooks.write(event.frame);
          break;
        case 'deliver':
          if (this.hooks.deliver(event.message) === false) {
            this.held = events.slice(i + 1);
            i = events.length;
          }
          break;
        case 'writable':
          this.hooks.writable?.();
          break;
        case 'acknowledged':
          this.hooks.acknowledged?.();
          break;
        case 'discarded':
          this.debug?.(`discarded an invalid frame: ${event.reason}`);
          break;
        case 'channel-closed':
          this.debug?.('← channel_closed');
          this.hooks.closed?.(event.closed);
          break;
        case 'failed':
          this.debug?.(`channel failed: ${event.error.message}`);
          this.hooks.failed(event.error);
          return;
      }
    }
    this.arm();
    this.hooks.settled?.();
  }

  private arm(): void {
    if (this.timer !== undefined || this.stopped || !this.isOnline) return;
    const deadline = this.channel.nextDeadline(this.timers.now());
    if (deadline === undefined) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.apply(this.channel.tick(this.timers.now()));
    }, Math.max(1, deadline - this.timers.now()));
  }

  private disarm(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
