import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../src/protocol/errors.js';
import {
  MAX_MESSAGE_BYTES,
  Opcode,
  WebSocketFrameParser,
  clientFrameLength,
  clientHeaderLength,
  closePayload,
  encodeClientFrame,
  writeClientFrame,
  type WebSocketEvent,
} from '../../src/protocol/websocket-frame.js';

const bytes = (...values: number[]) => Buffer.from(values);
const hello = Buffer.from('Hello');
/** The masking key of RFC 6455 §5.7's examples. */
const RFC_MASK = bytes(0x37, 0xfa, 0x21, 0x3d);

function events(parser: WebSocketFrameParser, ...chunks: Buffer[]): WebSocketEvent[] {
  const all: WebSocketEvent[] = [];
  for (const chunk of chunks) {
    const got = parser.push(chunk);
    if (got instanceof ProtocolError) throw got;
    all.push(...got);
  }
  return all;
}

function error(...chunks: Buffer[]): ProtocolError {
  const parser = new WebSocketFrameParser();
  for (const chunk of chunks) {
    const got = parser.push(chunk);
    if (got instanceof ProtocolError) return got;
  }
  throw new Error('no error');
}

describe('client frames (RFC 6455 §5.2, §5.3)', () => {
  it('a masked text frame and a masked pong are the bytes of RFC 6455 §5.7', () => {
    expect(encodeClientFrame(Opcode.Text, hello, RFC_MASK)).toEqual(bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58));
    expect(encodeClientFrame(Opcode.Pong, hello, RFC_MASK)).toEqual(bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58));
  });

  it('lengths of 125, 126, 65535 and 65536 take the 7-bit, 16-bit and 64-bit forms', () => {
    const mask = bytes(0, 0, 0, 0);
    for (const [length, header] of [
      [125, [0x82, 0x80 | 125]],
      [126, [0x82, 0x80 | 126, 0x00, 0x7e]],
      [65_535, [0x82, 0x80 | 126, 0xff, 0xff]],
      [65_536, [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0]],
    ] as const) {
      const frame = encodeClientFrame(Opcode.Binary, Buffer.alloc(length, 7), mask);
      expect(clientHeaderLength(length)).toBe(header.length + 4);
      expect(frame.length).toBe(clientFrameLength(length));
      expect([...frame.subarray(0, header.length)]).toEqual(header);
      // A zero mask leaves the payload as it was: the length field ends where the payload starts.
      expect(frame.subarray(header.length + 4).equals(Buffer.alloc(length, 7))).toBe(true);
    }
  });

  it('the payload is masked byte by byte with the key, whatever its length', () => {
    const mask = bytes(0x01, 0x02, 0x04, 0x08);
    for (let length = 0; length < 11; length++) {
      const payload = Buffer.from(Array.from({ length }, (_, i) => 0x10 * i));
      const frame = encodeClientFrame(Opcode.Binary, payload, mask);
      expect([...frame.subarray(2, 6)]).toEqual([1, 2, 4, 8]);
      expect([...frame.subarray(6)]).toEqual([...payload].map((byte, i) => byte ^ mask[i % 4]!));
    }
  });

  it('a longer payload, masked a word at a time, is the same bytes wherever it falls in memory', () => {
    const key = bytes(0x9a, 0x3c, 0x05, 0xe1);
    for (const length of [31, 32, 33, 125, 126, 271, 1024, 70_000]) {
      const payload = Buffer.from(Array.from({ length }, (_, i) => (i * 37) & 0xff));
      const expected = payload.map((byte, i) => byte ^ key[i % 4]!);
      for (let shift = 0; shift < 8; shift++) {
        // A view into a larger buffer at every offset mod 8: a pooled Buffer starts anywhere.
        const memory = Buffer.alloc(shift + clientFrameLength(length) + 3, 0xee);
        const target = memory.subarray(shift);
        const end = writeClientFrame(target, 0, Opcode.Binary, payload, key, 0);
        expect(end).toBe(clientFrameLength(length));
        expect(target.subarray(end - length, end).equals(expected)).toBe(true);
        expect([...memory.subarray(shift + end)]).toEqual([0xee, 0xee, 0xee]);
      }
    }
  });

  it('several frames go into one buffer, each with its own key, one after the other', () => {
    const keys = bytes(1, 1, 1, 1, 2, 2, 2, 2);
    const out = Buffer.alloc(clientFrameLength(1) + clientFrameLength(2));
    let at = writeClientFrame(out, 0, Opcode.Binary, bytes(0xf0), keys, 0);
    at = writeClientFrame(out, at, Opcode.Ping, bytes(0x0f, 0x0f), keys, 4);
    expect(at).toBe(out.length);
    expect(out).toEqual(bytes(0x82, 0x81, 1, 1, 1, 1, 0xf1, 0x89, 0x82, 2, 2, 2, 2, 0x0d, 0x0d));
  });

  it('a close frame carries its code, then its reason', () => {
    expect(closePayload(1000)).toEqual(bytes(0x03, 0xe8));
    expect(closePayload(1002, 'no')).toEqual(bytes(0x03, 0xea, 0x6e, 0x6f));
  });
});

describe('server frames (RFC 6455 §5)', () => {
  it('the unmasked and fragmented examples of RFC 6455 §5.7', () => {
    const parser = new WebSocketFrameParser();
    expect(events(parser, bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f))).toEqual([{ kind: 'message', binary: false, data: hello }]);
    expect(events(parser, bytes(0x01, 0x03, 0x48, 0x65, 0x6c), bytes(0x80, 0x02, 0x6c, 0x6f))).toEqual([{ kind: 'message', binary: false, data: hello }]);
    expect(events(parser, bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f))).toEqual([{ kind: 'ping', data: hello }]);
    const long = Buffer.alloc(256, 0xab);
    expect(events(parser, Buffer.concat([bytes(0x82, 0x7e, 0x01, 0x00), long]))).toEqual([{ kind: 'message', binary: true, data: long }]);
    const longer = Buffer.alloc(65_536, 0xcd);
    expect(events(parser, Buffer.concat([bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0), longer]))).toEqual([{ kind: 'message', binary: true, data: longer }]);
  });

  it('a control frame between the fragments of a message comes first (§5.4)', () => {
    const parser = new WebSocketFrameParser();
    expect(events(parser, bytes(0x02, 0x01, 0xaa, 0x8a, 0x00, 0x80, 0x01, 0xbb))).toEqual([
      { kind: 'pong', data: Buffer.alloc(0) },
      { kind: 'message', binary: true, data: bytes(0xaa, 0xbb) },
    ]);
  });

  it('the same events however the bytes are cut, down to one byte a read', () => {
    const stream = Buffer.concat([
      bytes(0x82, 0x03, 1, 2, 3),
      bytes(0x82, 0x7e, 0x01, 0x2c),
      Buffer.alloc(300, 9),
      bytes(0x02, 0x01, 4, 0x89, 0x01, 0x70, 0x80, 0x01, 5),
      bytes(0x88, 0x04, 0x03, 0xe8, 0x6f, 0x6b),
    ]);
    const whole = events(new WebSocketFrameParser(), stream);
    expect(whole).toEqual([
      { kind: 'message', binary: true, data: bytes(1, 2, 3) },
      { kind: 'message', binary: true, data: Buffer.alloc(300, 9) },
      { kind: 'ping', data: bytes(0x70) },
      { kind: 'message', binary: true, data: bytes(4, 5) },
      { kind: 'close', code: 1000, reason: 'ok' },
    ]);
    for (const size of [1, 2, 3, 5, 7, 64]) {
      const parser = new WebSocketFrameParser();
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += size) chunks.push(stream.subarray(at, at + size));
      expect(events(parser, ...chunks)).toEqual(whole);
    }
  });

  it('a frame whole within a read is a view of it, not a copy', () => {
    const chunk = bytes(0x82, 0x02, 7, 8, 0x82, 0x01, 9);
    const [first, second] = events(new WebSocketFrameParser(), chunk) as Array<{ data: Buffer }>;
    expect(first!.data.buffer).toBe(chunk.buffer);
    expect(second!.data.byteOffset).toBe(chunk.byteOffset + 6);
  });

  it('close frames: with a code and reason, with neither (1005)', () => {
    expect(events(new WebSocketFrameParser(), bytes(0x88, 0x00))).toEqual([{ kind: 'close', code: 1005, reason: '' }]);
    expect(events(new WebSocketFrameParser(), bytes(0x88, 0x05, 0x03, 0xe9, 0x62, 0x79, 0x65))).toEqual([{ kind: 'close', code: 1001, reason: 'bye' }]);
  });

  it('refuses what §5 forbids a server, and then takes nothing more', () => {
    expect(error(bytes(0x82, 0x81, 1, 2, 3, 4, 5)).message).toMatch(/masked WebSocket frame from the server/);
    expect(error(bytes(0xc2, 0x00)).message).toMatch(/RSV bits/);
    expect(error(bytes(0x83, 0x00)).message).toMatch(/unknown opcode 3/);
    expect(error(bytes(0x80, 0x00)).message).toMatch(/continuation frame with no message/);
    expect(error(bytes(0x02, 0x00, 0x82, 0x00)).message).toMatch(/new WebSocket message began inside a fragmented one/);
    expect(error(bytes(0x09, 0x00)).message).toMatch(/control frame fragmented/);
    expect(error(Buffer.concat([bytes(0x89, 0x7e, 0x00, 0x7e), Buffer.alloc(126)])).message).toMatch(/over 125 bytes/);
    expect(error(bytes(0x88, 0x01, 0x03)).message).toMatch(/close frame of one byte/);
    expect(error(bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 1)).message).toMatch(/length out of range/);
    const tooBig = MAX_MESSAGE_BYTES + 1;
    expect(error(bytes(0x82, 0x7f, 0, 0, 0, 0, tooBig >>> 24, (tooBig >>> 16) & 0xff, (tooBig >>> 8) & 0xff, tooBig & 0xff)).code).toBe('BAD_WEBSOCKET_FRAME');
    // The limit holds across reads too: the length is known from the header's first bytes.
    expect(error(bytes(0x82, 0x7f, 0, 0), bytes(0, 0, tooBig >>> 24, (tooBig >>> 16) & 0xff, (tooBig >>> 8) & 0xff, tooBig & 0xff)).message).toMatch(/over the/);
    const parser = new WebSocketFrameParser();
    expect(parser.push(bytes(0x83, 0x00))).toBeInstanceOf(ProtocolError);
    expect(parser.push(bytes(0x82, 0x01, 1))).toEqual([]);
  });
});
