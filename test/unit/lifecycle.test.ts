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
});
