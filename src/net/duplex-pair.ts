import { Duplex } from 'node:stream';

/**
 * Two connected streams, as a socket pair: what one is written, the other reads, with
 * backpressure (a write waits until the other side has taken it). Ending one ends the other's
 * reading side; destroying one destroys both. (Node 22 has stream.duplexPair; Node 20 does not.)
 */
export function duplexPair(): [Duplex, Duplex] {
  let a: Duplex;
  let b: Duplex;
  const pending = new Map<Duplex, () => void>();
  const make = (other: () => Duplex) =>
    new Duplex({
      read() {
        const self = this as Duplex;
        const release = pending.get(self);
        if (release) {
          pending.delete(self);
          release();
        }
      },
      write(chunk: Buffer, _encoding, callback) {
        const peer = other();
        if (peer.destroyed) return callback();
        if (peer.push(chunk)) callback();
        else pending.set(peer, () => callback());
      },
      final(callback) {
        other().push(null);
        callback();
      },
      destroy(error, callback) {
        const peer = other();
        const release = pending.get(peer);
        pending.delete(peer);
        release?.();
        if (!peer.destroyed) peer.destroy();
        callback(error);
      },
    });
  a = make(() => b);
  b = make(() => a);
  return [a, b];
}
