import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Lifecycle } from '../../src/cli/lifecycle.js';
import type { DataChannelSession } from '../../src/session/data-channel-session.js';
import type { SignalSource } from '../../src/session/signals.js';

// Issue 12: a forward that runs all day replaces the sessions the service ends; the command must
// not keep every one it ever had (the soak's heap grew by a session a replacement).

class FakeSession extends EventEmitter {
  terminated = 0;
  terminate(): Promise<void> {
    this.terminated += 1;
    return Promise.resolve();
  }
}

const noSignals: SignalSource = { on: () => () => undefined };

describe('Lifecycle', () => {
  it('lets go of a session the service closed; ends the others on the service at the end', async () => {
    const lifecycle = new Lifecycle({ signals: noSignals, stopSignals: ['SIGINT'] });
    const closed = new FakeSession();
    const open = new FakeSession();
    const forgotten = new FakeSession();
    await lifecycle.run(async () => {
      lifecycle.track(closed as unknown as DataChannelSession);
      lifecycle.track(open as unknown as DataChannelSession);
      lifecycle.track(forgotten as unknown as DataChannelSession);
      closed.emit('closed', { output: '' });
      lifecycle.forget(forgotten as unknown as DataChannelSession);
      expect((lifecycle as unknown as { sessions: Set<unknown> }).sessions.size).toBe(1);
      return 0;
    });
    expect(closed.terminated).toBe(0);
    expect(forgotten.terminated).toBe(0);
    expect(open.terminated).toBeGreaterThan(0);
  });

  it('a stop waits for the endings it started, though each session says closed as its ending begins', async () => {
    let stop: (signal: NodeJS.Signals) => void = () => undefined;
    const signals: SignalSource = { on: (_, listener) => ((stop = listener as (signal: NodeJS.Signals) => void), () => undefined) };
    const lifecycle = new Lifecycle({ signals, stopSignals: ['SIGHUP'] });
    let finishEnding: () => void = () => undefined;
    class SlowSession extends EventEmitter {
      ended = false;
      terminate(): Promise<void> {
        // As DataChannelSession: 'closed' at once, TerminateSession on the service after.
        this.emit('closed', { output: '' });
        return new Promise<void>((resolve) => (finishEnding = resolve)).then(() => {
          this.ended = true;
        });
      }
    }
    const session = new SlowSession();
    const status = lifecycle.run(async () => {
      lifecycle.track(session as unknown as DataChannelSession);
      stop('SIGHUP');
      return new Promise<number>(() => undefined);
    });
    let done = false;
    void status.then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done).toBe(false);
    finishEnding();
    await status;
    expect(session.ended).toBe(true);
    expect((lifecycle as unknown as { ending: Set<unknown> }).ending.size).toBe(0);
  });
});
