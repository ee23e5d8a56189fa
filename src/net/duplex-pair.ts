import { Duplex, type DuplexOptions } from 'node:stream';

/**
 * Two connected streams, as a socket pair: what one is written, the other reads, with
 * backpressure (a write waits until the other side has taken it). Ending one ends the other's
 * reading side; destroying one destroys both. (Node 22 has stream.duplexPair; Node 20 does not.)
 * The first may be of a subclass of Duplex that adds properties (it must not override the
 * stream's own methods: the pair gives them as options).
 */
export function duplexPair<First extends Duplex = Duplex>(FirstClass: new (options: DuplexOptions) => First = Duplex as unknown as new (options: DuplexOptions) => First): [First, Duplex] {
  let a: First;
  let b: Duplex;
  const pending = new Map<Duplex, () => void>();
  const make = <D extends Duplex>(other: () => Duplex, Class: new (options: DuplexOptions) => D): D =>
    new Class({
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
  a = make(() => b, FirstClass);
  b = make(() => a, Duplex);
  return [a, b];
}
