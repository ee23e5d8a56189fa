import { describe, expect, it } from 'vitest';
import { decodeAgentMessage, encodeAcknowledgement, encodeAgentMessage, sha256, type AgentMessage } from '../../src/protocol/message.js';
import { encodeAcknowledge } from '../../src/protocol/payloads.js';
import { writeMessageId } from '../../src/protocol/uuid.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { loadVectors } from '../support/vectors.js';

const vectors = loadVectors();

function decodeOk(frame: Buffer) {
  const decoded = decodeAgentMessage(frame);
  if (decoded instanceof ProtocolError) throw decoded;
  return decoded;
}

describe('agent message codec against test/fixtures/vectors.json', () => {
  it('has the vectors', () => {
    expect(vectors.length).toBeGreaterThanOrEqual(8);
  });

  for (const vector of vectors) {
    describe(vector.name, () => {
      const frame = Buffer.from(vector.hex, 'hex');

      it('decodes to its fields', () => {
        expect(frame.length).toBe(vector.length);
        const message = decodeOk(frame);
        expect(message.headerLength).toBe(116);
        expect(message.messageType).toBe(vector.messageType);
        expect(message.schemaVersion).toBe(vector.schemaVersion);
        expect(message.createdDate).toBe(vector.createdDate);
        expect(message.sequenceNumber).toBe(vector.sequenceNumber);
        expect(message.flags).toBe(vector.flags);
        expect(message.messageId).toBe(vector.messageId);
        expect(message.payloadType).toBe(vector.payloadType);
        expect(message.payload.toString('hex')).toBe(vector.payloadHex);
        expect(message.payloadLength).toBe(vector.payloadHex.length / 2);
        if (vector.payloadText !== undefined) expect(message.payload.toString('utf8')).toBe(vector.payloadText);
      });

      it('encodes back to the same bytes', () => {
        const message: AgentMessage = {
          messageType: vector.messageType,
          schemaVersion: vector.schemaVersion,
          createdDate: vector.createdDate,
          sequenceNumber: vector.sequenceNumber,
          flags: vector.flags,
          messageId: vector.messageId,
          payloadType: vector.payloadType,
          payload: Buffer.from(vector.payloadHex, 'hex'),
        };
        expect(encodeAgentMessage(message).toString('hex')).toBe(vector.hex);
      });
    });
  }

  it('matches the worked example of docs/protocol.md §2 (message id halves swapped, space padding)', () => {
    const frame = encodeAgentMessage({
      messageType: 'input_stream_data',
      schemaVersion: 1,
      createdDate: 1503434274948,
      sequenceNumber: 1n,
      flags: 2n,
      messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16',
      payloadType: 0,
      payload: Buffer.from('payload'),
    });
    expect(frame.length).toBe(127);
    expect(frame.subarray(0, 0x40).toString('hex')).toBe(
      '0000007469' + '6e7075745f73747265616d' + '5f646174612020202020202020202020' +
        '20202020000000010000015e0baa7884' + '00000000000000010000000000000002',
    );
    expect(frame.subarray(0x40, 0x50).toString('hex')).toBe('a508b5f073f31b16dd01e56bff48483e');
    expect(frame.subarray(0x70).toString('hex')).toBe('0000000000000007' + Buffer.from('payload').toString('hex'));
  });
});

describe('agent message decoder rejects bad frames with a typed error', () => {
  const good = Buffer.from(vectors.find((v) => v.name === 'output-hello')!.hex, 'hex');

  function code(frame: Buffer): string | undefined {
    const result = decodeAgentMessage(frame);
    return result instanceof ProtocolError ? result.code : undefined;
  }

  it('truncated: every length below the header is FRAME_TOO_SHORT', () => {
    for (let n = 0; n < 120; n++) expect(code(good.subarray(0, n))).toBe('FRAME_TOO_SHORT');
  });

  it('truncated payload is BAD_PAYLOAD_LENGTH', () => {
    expect(code(good.subarray(0, good.length - 1))).toBe('BAD_PAYLOAD_LENGTH');
  });

  it('extra bytes after the payload are BAD_PAYLOAD_LENGTH', () => {
    expect(code(Buffer.concat([good, Buffer.from([0])]))).toBe('BAD_PAYLOAD_LENGTH');
  });

  it('a payload length of 4 GiB allocates nothing and is rejected', () => {
    const frame = Buffer.from(good);
    frame.writeUInt32BE(0xffffffff, 116);
    expect(code(frame)).toBe('BAD_PAYLOAD_LENGTH');
  });

  it('header length too large or too small is BAD_HEADER_LENGTH', () => {
    for (const headerLength of [0, 115, good.length - 3, 0xffffffff]) {
      const frame = Buffer.from(good);
      frame.writeUInt32BE(headerLength, 0);
      expect(code(frame)).toBe('BAD_HEADER_LENGTH');
    }
  });

  it('a flipped payload byte is BAD_DIGEST', () => {
    const frame = Buffer.from(good);
    frame[frame.length - 1]! ^= 0x01;
    expect(code(frame)).toBe('BAD_DIGEST');
  });

  it('a zero created date is BAD_CREATED_DATE', () => {
    const frame = Buffer.from(good);
    frame.writeBigUInt64BE(0n, 40);
    expect(code(frame)).toBe('BAD_CREATED_DATE');
  });

  it('an empty message type is BAD_MESSAGE_TYPE', () => {
    const frame = Buffer.from(good);
    frame.fill(0x20, 4, 36);
    expect(code(frame)).toBe('BAD_MESSAGE_TYPE');
  });

  it('publication messages pass without the checks, as the plugin accepts them', () => {
    const frame = encodeAgentMessage({
      messageType: 'pause_publication', schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n,
      messageId: '00000000-0000-4000-8000-000000000000', payloadType: 0, payload: Buffer.alloc(0),
    });
    frame.writeBigUInt64BE(0n, 40);
    const decoded = decodeOk(frame);
    expect(decoded.messageType).toBe('pause_publication');
  });

  it('an empty payload skips the digest check', () => {
    const frame = encodeAgentMessage({
      messageType: 'acknowledge', schemaVersion: 1, createdDate: 5, sequenceNumber: 0n, flags: 3n,
      messageId: '00000000-0000-4000-8000-000000000000', payloadType: 0, payload: Buffer.alloc(0),
    });
    frame.fill(0, 80, 112);
    expect(decodeOk(frame).payload.length).toBe(0);
    expect(sha256(Buffer.alloc(0)).toString('hex')).toMatch(/^e3b0c442/);
  });

  it('random garbage never throws: always a typed error or a message', () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 20_000; i++) {
      const frame = Buffer.from(good);
      const flips = 1 + Math.floor(random() * 4);
      for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? frame.subarray(0, Math.floor(random() * frame.length)) : frame;
      const result = decodeAgentMessage(cut);
      expect(result instanceof ProtocolError || typeof result.messageType === 'string').toBe(true);
    }
  });

  it('encoder refuses a message type longer than 32 bytes and a bad message id', () => {
    const base: AgentMessage = {
      messageType: 'x'.repeat(33), schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n,
      messageId: '00000000-0000-4000-8000-000000000000', payloadType: 1, payload: Buffer.from('a'),
    };
    expect(() => encodeAgentMessage(base)).toThrow(ProtocolError);
    expect(() => encodeAgentMessage({ ...base, messageType: 'acknowledge', messageId: 'nope' })).toThrow(/not a UUID/);
  });
});

describe('the agent\'s frame rules, more lenient than the client\'s (docs/protocol.md §2)', () => {
  // ssm-session (npm) writes the first 32 hex characters of the SHA-256 as text in the digest field.
  const withDigest = (digest: Buffer) => {
    const frame = encodeAgentMessage({ messageType: 'input_stream_data', schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n, messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16', payloadType: 1, payload: Buffer.from('ls\r') });
    digest.copy(frame, 80);
    return frame;
  };

  it('a wrong digest: the client drops the frame, the agent takes it and says what it forgave', () => {
    const frame = withDigest(Buffer.from(sha256(Buffer.from('ls\r')).toString('hex').slice(0, 32)));
    expect(decodeAgentMessage(frame)).toBeInstanceOf(ProtocolError);
    const taken = decodeAgentMessage(frame, 'agent');
    expect(taken).not.toBeInstanceOf(ProtocolError);
    expect((taken as { payload: Buffer }).payload.toString()).toBe('ls\r');
    expect((taken as { forgiven?: string }).forgiven).toMatch(/digest/);
  });

  it('a wrong payload length is forgiven too: the payload runs from HeaderLength + 4 to the end', () => {
    const frame = withDigest(sha256(Buffer.from('ls\r')));
    frame.writeUInt32BE(999, 116);
    const taken = decodeAgentMessage(frame, 'agent') as { payload: Buffer; forgiven?: string };
    expect(taken.payload.toString()).toBe('ls\r');
    expect(taken.forgiven).toMatch(/payload length/);
  });

  it('what the agent does check: a header length of 0, no message type, no created date', () => {
    const good = withDigest(sha256(Buffer.from('ls\r')));
    const zeroHeader = Buffer.from(good);
    zeroHeader.writeUInt32BE(0, 0);
    expect(decodeAgentMessage(zeroHeader, 'agent')).toMatchObject({ code: 'BAD_HEADER_LENGTH' });
    const noType = Buffer.from(good);
    noType.fill(0x20, 4, 36);
    expect(decodeAgentMessage(noType, 'agent')).toMatchObject({ code: 'BAD_MESSAGE_TYPE' });
    const noDate = Buffer.from(good);
    noDate.fill(0, 40, 48);
    expect(decodeAgentMessage(noDate, 'agent')).toMatchObject({ code: 'BAD_CREATED_DATE' });
  });
});

describe('the channel under the agent\'s rules', () => {
  it('delivers a frame with a wrong digest, acknowledges it, and counts what it forgave', async () => {
    const { ReliableChannel } = await import('../../src/channel/reliable-channel.js');
    const frame = encodeAgentMessage({ messageType: 'input_stream_data', schemaVersion: 1, createdDate: 1, sequenceNumber: 0n, flags: 0n, messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16', payloadType: 1, payload: Buffer.from('ls\r') });
    Buffer.from(sha256(Buffer.from('ls\r')).toString('hex').slice(0, 32)).copy(frame, 80);
    const agent = new ReliableChannel({ sendType: 'output_stream_data', frameRules: 'agent', invalidFrames: 'drop' });
    const events = agent.receive(frame, 1);
    expect(events.map((e) => e.kind)).toEqual(['write', 'deliver']);
    expect(agent.forgivenFrames).toBe(1);
    const client = new ReliableChannel({ sendType: 'input_stream_data', invalidFrames: 'drop' });
    expect(client.receive(frame, 1).map((e) => e.kind)).toEqual(['discarded']);
    expect(client.forgivenFrames).toBe(0);
  });
});

describe('the codec\'s fast paths give what the plain ones gave (issue 13)', () => {
  const base: AgentMessage = {
    messageType: 'output_stream_data', schemaVersion: 1, createdDate: 1503434274948, sequenceNumber: 0n, flags: 0n,
    messageId: 'dd01e56b-ff48-483e-a508-b5f073f31b16', payloadType: 1, payload: Buffer.from('hello'),
  };

  it('64-bit fields round-trip at the edges of the double range and of int64', () => {
    const values = [0n, 1n, 3n, 4n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n - 1n, -1n, -(2n ** 32n), -(2n ** 53n) + 1n, -(2n ** 53n), -(2n ** 63n)];
    for (const sequenceNumber of values) {
      const frame = encodeAgentMessage({ ...base, sequenceNumber });
      expect(frame.readBigInt64BE(48)).toBe(sequenceNumber);
      expect(decodeOk(frame).sequenceNumber).toBe(sequenceNumber);
      // As a number where it is read exactly as one: from -2^53 to 2^53 - 1.
      const exact = sequenceNumber < 2n ** 53n && sequenceNumber >= -(2n ** 53n);
      expect(decodeOk(frame).sequence).toBe(exact ? Number(sequenceNumber) : NaN);
    }
    for (const flags of [0n, 1n, 2n, 3n, 4n, 2n ** 32n + 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      const frame = encodeAgentMessage({ ...base, flags });
      expect(frame.readBigUInt64BE(56)).toBe(flags);
      expect(decodeOk(frame).flags).toBe(flags);
    }
  });

  it('a created date past 2^53 reads as Number of the uint64 would', () => {
    const frame = encodeAgentMessage(base);
    for (const date of [2n ** 53n + 1n, 2n ** 64n - 1n, 2n ** 63n + 12345n]) {
      frame.writeBigUInt64BE(date, 40);
      expect(decodeOk(frame).createdDate).toBe(Number(date));
    }
  });

  it('message types: NULs stripped at both ends, then white space, whatever the padding', () => {
    const cases: Array<[string, string]> = [
      ['acknowledge' + ' '.repeat(21), 'acknowledge'],
      ['acknowledge' + '\0'.repeat(21), 'acknowledge'],
      ['acknowledge  \0\0' + '\0'.repeat(17), 'acknowledge'],
      ['acknowledge \0 ' + ' '.repeat(18), 'acknowledge \0'],
      ['\0\0acknowledge' + ' '.repeat(19), 'acknowledge'],
      ['  acknowledge' + ' '.repeat(19), 'acknowledge'],
      ['\tacknowledge\n' + ' '.repeat(19), 'acknowledge'],
      ['ack now' + ' '.repeat(25), 'ack now'],
      ['x'.repeat(32), 'x'.repeat(32)],
      ['\u00e9t\u00e9' + ' '.repeat(29), '\u00e9t\u00e9'],
    ];
    const frame = encodeAgentMessage({ ...base, messageType: 'input_stream_data' });
    for (const [field, expected] of cases) {
      frame.write(field, 4, 32, 'latin1');
      expect(decodeOk(frame).messageType).toBe(expected);
    }
  });

  it('message ids: any case in, lower case out, halves swapped on the wire; a near-miss is refused', () => {
    const frame = encodeAgentMessage({ ...base, messageId: 'DD01E56B-FF48-483E-A508-B5F073F31B16' });
    expect(frame.subarray(64, 80).toString('hex')).toBe('a508b5f073f31b16dd01e56bff48483e');
    expect(decodeOk(frame).messageId).toBe('dd01e56b-ff48-483e-a508-b5f073f31b16');
    for (const bad of ['dd01e56b-ff48-483e-a508-b5f073f31b1g', 'dd01e56bff48-483e-a508-b5f073f31b16-', 'dd01e56b-ff48-483e-a508-b5f073f31b1', ' dd01e56b-ff48-483e-a508-b5f073f31b16', 'dd01e56b-ff48-483e-a508-b5f073f31b1\u0666']) {
      expect(() => encodeAgentMessage({ ...base, messageId: bad })).toThrow(/not a UUID/);
    }
  });
});

describe('new message ids', () => {
  it('are version 4 UUIDs, lower case, all different, across refills of the random pool', async () => {
    const { newMessageId } = await import('../../src/protocol/uuid.js');
    const ids = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const id = newMessageId();
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(2000);
  });

  it('written straight into a header, a new id reads back as a version 4 UUID, and the text of a received id is readMessageId\'s', async () => {
    const { writeNewMessageId, writeMessageIdText, readMessageId } = await import('../../src/protocol/uuid.js');
    const header = Buffer.alloc(32);
    const ids = new Set<string>();
    for (let i = 0; i < 600; i++) {
      writeNewMessageId(header, 8);
      const id = readMessageId(header, 8);
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      ids.add(id);
      const text = Buffer.alloc(40, 0x78);
      writeMessageIdText(header, 8, text, 2);
      expect(text.toString('latin1')).toBe(`xx${id}xx`);
    }
    expect(ids.size).toBe(600);
  });
});

describe('acknowledgements', () => {
  /** A received frame with this id, type and sequence number. */
  const received = (messageType: string, messageId: string, sequenceNumber: number) =>
    encodeAgentMessage({ messageType, schemaVersion: 1, createdDate: 1, sequenceNumber: BigInt(sequenceNumber), flags: 0n, messageId, payloadType: 1, payload: Buffer.from('x') });

  it("are the plugin's bytes (the acknowledge vector)", () => {
    const vector = vectors.find((v) => v.name === 'acknowledge')!;
    const ack = JSON.parse(vector.payloadText!) as { AcknowledgedMessageId: string; AcknowledgedMessageSequenceNumber: number };
    const frame = received('output_stream_data', ack.AcknowledgedMessageId, ack.AcknowledgedMessageSequenceNumber);
    const encoded = encodeAcknowledgement(frame, 'output_stream_data', ack.AcknowledgedMessageSequenceNumber, vector.createdDate, (target, offset) => writeMessageId(vector.messageId, target, offset));
    expect(encoded.toString('hex')).toBe(vector.hex);
  });

  it('made one after another and all kept, each stays the general encoder\'s bytes (their buffers and payload templates are shared)', () => {
    const own = '0123e567-89ab-4cde-8f01-23456789abcd';
    const made: Array<{ encoded: Buffer; id: string; sequenceNumber: number }> = [];
    // Past several slabs of 64 KiB, with sequence numbers of 1 to 7 digits in turn.
    for (let i = 0; i < 1500; i++) {
      const sequenceNumber = [i, i * 10 + 3, i * 997, i * 104_729][i % 4]!;
      const id = `dd01e56b-ff48-483e-a508-${String(i).padStart(12, '0')}`;
      made.push({ encoded: encodeAcknowledgement(received('output_stream_data', id, sequenceNumber), 'output_stream_data', sequenceNumber, 1503434274948 + i, (target, offset) => writeMessageId(own, target, offset)), id, sequenceNumber });
    }
    made.forEach(({ encoded, id, sequenceNumber }, i) => {
      const expected = encodeAgentMessage({
        messageType: 'acknowledge', schemaVersion: 1, createdDate: 1503434274948 + i, sequenceNumber: 0n, flags: 3n, messageId: own, payloadType: 0,
        payload: encodeAcknowledge({ acknowledgedMessageType: 'output_stream_data', acknowledgedMessageId: id, acknowledgedMessageSequenceNumber: sequenceNumber, isSequentialMessage: true }),
      });
      expect(encoded.toString('hex')).toBe(expected.toString('hex'));
    });
  });

  it('are the bytes of the general encoder with the acknowledge JSON, for any type and sequence number', () => {
    const id = 'dd01e56b-ff48-483e-a508-b5f073f31b16';
    const own = '0123e567-89ab-4cde-8f01-23456789abcd';
    for (const messageType of ['output_stream_data', 'input_stream_data', 'some_new_type', 'a"b\\c', 'x:0,y', 'tÿpe']) {
      for (const sequenceNumber of [0, 7, 10, 99, 100, 4_294_967_296, Number.MAX_SAFE_INTEGER]) {
        const frame = received(messageType, id, sequenceNumber);
        const encoded = encodeAcknowledgement(frame, messageType, sequenceNumber, 1503434274948, (target, offset) => writeMessageId(own, target, offset));
        const expected = encodeAgentMessage({
          messageType: 'acknowledge', schemaVersion: 1, createdDate: 1503434274948, sequenceNumber: 0n, flags: 3n, messageId: own, payloadType: 0,
          payload: encodeAcknowledge({ acknowledgedMessageType: messageType, acknowledgedMessageId: id, acknowledgedMessageSequenceNumber: sequenceNumber, isSequentialMessage: true }),
        });
        expect(encoded.toString('hex')).toBe(expected.toString('hex'));
      }
    }
  });
});
