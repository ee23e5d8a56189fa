import { describe, expect, it } from 'vitest';
import { SmuxSession, type SmuxEvent } from '../../src/channel/smux-session.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { SmuxFrameParser, encodeSmuxFrame } from '../../src/protocol/smux.js';

describe('smux v1 frames (docs/protocol.md §8)', () => {
  it('header: version 1, command, length little-endian, stream id little-endian', () => {
    expect(encodeSmuxFrame(0, 3).toString('hex')).toBe('0100000003000000');
    expect(encodeSmuxFrame(2, 5, Buffer.from('hi')).toString('hex')).toBe('0102020005000000' + '6869');
    expect(encodeSmuxFrame(1, 0x01020304).toString('hex')).toBe('0101000004030201');
    expect(encodeSmuxFrame(3, 0).toString('hex')).toBe('0103000000000000');
    expect(encodeSmuxFrame(2, 7, Buffer.alloc(0x1234)).subarray(0, 4).toString('hex')).toBe('01023412');
  });

  it('parses frames however the stream is cut, one byte at a time included', () => {
    const stream = Buffer.concat([
      encodeSmuxFrame(0, 3),
      encodeSmuxFrame(2, 3, Buffer.from('hello')),
      encodeSmuxFrame(2, 5, Buffer.alloc(3000, 7)),
      encodeSmuxFrame(1, 3),
    ]);
    for (const size of [1, 3, 7, 8, 9, 1024, stream.length]) {
      const parser = new SmuxFrameParser();
      const frames = [];
      for (let i = 0; i < stream.length; i += size) {
        const out = parser.push(stream.subarray(i, i + size));
        if (out instanceof ProtocolError) throw out;
        frames.push(...out);
      }
      expect(frames.map((f) => [f.command, f.streamId, f.data.length])).toEqual([[0, 3, 0], [2, 3, 5], [2, 5, 3000], [1, 3, 0]]);
      expect(frames[1]!.data.toString()).toBe('hello');
      expect(frames[2]!.data.every((b) => b === 7)).toBe(true);
    }
  });

  it('streaming, a data frame comes out piece by piece as it arrives, views of the pieces, the same bytes in order; other frames whole', () => {
    const big = Buffer.alloc(32_768);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
    const stream = Buffer.concat([
      encodeSmuxFrame(0, 3),
      encodeSmuxFrame(2, 3, Buffer.from('hello')),
      encodeSmuxFrame(2, 5, big),
      encodeSmuxFrame(3, 0),
      encodeSmuxFrame(1, 3),
    ]);
    for (const size of [1, 7, 8, 9, 1024, stream.length]) {
      const parser = new SmuxFrameParser(true);
      const frames = [];
      for (let i = 0; i < stream.length; i += size) {
        const piece = stream.subarray(i, i + size);
        const out = parser.push(piece);
        if (out instanceof ProtocolError) throw out;
        // Every piece of data is a view of what was pushed (no copy), never more than the piece.
        for (const frame of out) if (frame.command === 2) expect(frame.data.buffer).toBe(stream.buffer);
        frames.push(...out);
      }
      const ofStream = (id: number) => Buffer.concat(frames.filter((f) => f.command === 2 && f.streamId === id).map((f) => f.data));
      expect(ofStream(3).toString()).toBe('hello');
      expect(ofStream(5).equals(big)).toBe(true);
      expect(frames.filter((f) => f.command !== 2).map((f) => [f.command, f.streamId, f.data.length])).toEqual([[0, 3, 0], [3, 0, 0], [1, 3, 0]]);
      // A frame within one piece is one piece; with 1 KiB pieces the 32 KiB frame is some 33.
      if (size === stream.length) expect(frames.length).toBe(5);
      if (size === 1024) expect(frames.filter((f) => f.streamId === 5).length).toBeGreaterThanOrEqual(32);
    }
  });

  it('a wrong version or the v2-only UPD command is a typed error', () => {
    expect(new SmuxFrameParser().push(Buffer.from('0200000003000000', 'hex'))).toBeInstanceOf(ProtocolError);
    expect(new SmuxFrameParser().push(Buffer.from('0104000003000000', 'hex'))).toBeInstanceOf(ProtocolError);
  });
});

describe('smux session', () => {
  it('the client opens odd stream ids from 3, as xtaci/smux does', () => {
    const client = new SmuxSession('client');
    expect([client.openStream(), client.openStream(), client.openStream()].map((s) => s.streamId)).toEqual([3, 5, 7]);
    expect(client.openStream().bytes.toString('hex')).toBe('0100000009000000');
  });

  it('client and server exchange data on several streams and close them', () => {
    const client = new SmuxSession('client');
    const server = new SmuxSession('server');
    const a = client.openStream();
    const b = client.openStream();
    const toServer = Buffer.concat([a.bytes, b.bytes, ...client.write(a.streamId, Buffer.from('to-a')), ...client.write(b.streamId, Buffer.from('to-b'))]);
    const events = server.receive(toServer);
    expect(events).toEqual([
      { kind: 'open', streamId: 3 },
      { kind: 'open', streamId: 5 },
      { kind: 'data', streamId: 3, data: Buffer.from('to-a') },
      { kind: 'data', streamId: 5, data: Buffer.from('to-b') },
    ]);
    const back = client.receive(Buffer.concat([...server.write(5, Buffer.from('from-b')), server.close(3)!]));
    expect(back).toEqual<SmuxEvent[]>([{ kind: 'data', streamId: 5, data: Buffer.from('from-b') }, { kind: 'close', streamId: 3 }]);
    // The peer's FIN ends writing; this side still sends its own FIN, once.
    expect(client.isOpen(3)).toBe(false);
    expect(client.write(3, Buffer.from('late'))).toEqual([]);
    expect(client.close(3)?.toString('hex')).toBe('0101000003000000');
    expect(client.close(3)).toBeUndefined();
    expect(client.streamCount).toBe(1);
    expect(client.close(5)?.toString('hex')).toBe('0101000005000000');
    expect(server.receive(encodeSmuxFrame(1, 5))).toEqual([{ kind: 'close', streamId: 5 }]);
  });

  it('splits writes into frames of at most 32 KiB', () => {
    const client = new SmuxSession('client');
    const { streamId } = client.openStream();
    const frames = client.write(streamId, Buffer.alloc(70_000));
    expect(frames.map((f) => f.length - 8)).toEqual([32768, 32768, 4464]);
  });

  it('data for an unknown or closed stream is dropped; NOP is reported', () => {
    const client = new SmuxSession('client');
    expect(client.receive(encodeSmuxFrame(2, 99, Buffer.from('x')))).toEqual([]);
    expect(client.receive(client.nop())).toEqual([{ kind: 'nop' }]);
  });
});
