/**
 * Fuzzing of the wire decoders and the reliable channel: random frames, valid frames mutated,
 * truncated or given absurd lengths, fed to the decoders and to a channel. The only outcomes
 * allowed are a typed error or a correct value; nothing throws, and memory stays bounded (a header
 * that claims a 4 GiB payload allocates nothing).
 *
 *   npm run fuzz [-- COUNT [SEED]]      (the test suite runs a bounded count with a fixed seed)
 */
import { pathToFileURL } from 'node:url';
import { ReliableChannel } from '../src/channel/reliable-channel.js';
import { SmuxFrameParser } from '../src/protocol/smux.js';
import { MessageType, PayloadType } from '../src/protocol/constants.js';
import { decodeEncChallenge } from '../src/protocol/crypto.js';
import { ProtocolError } from '../src/protocol/errors.js';
import { decodeAgentMessage, encodeAgentMessage } from '../src/protocol/message.js';
import { decodeAcknowledge, decodeChannelClosed, decodeHandshakeComplete, decodeHandshakeRequest, decodeHandshakeResponse } from '../src/protocol/payloads.js';

/** A small seeded generator (mulberry32): the same seed, the same run. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export interface FuzzStats {
  frames: number;
  decoded: number;
  typedErrors: number;
  channelEvents: number;
  heapGrowthMiB: number;
}

const payloadDecoders = [decodeAcknowledge, decodeChannelClosed, decodeHandshakeRequest, decodeHandshakeResponse, decodeHandshakeComplete, decodeEncChallenge];

function validFrame(random: () => number, sequence: number): Buffer {
  const types = [MessageType.OutputStreamData, MessageType.Acknowledge, MessageType.ChannelClosed, MessageType.InputStreamData, 'pause_publication', 'start_publication'];
  const payload = Buffer.alloc(Math.floor(random() * 64));
  for (let i = 0; i < payload.length; i++) payload[i] = Math.floor(random() * 256);
  return encodeAgentMessage({
    messageType: types[Math.floor(random() * types.length)]!,
    schemaVersion: 1,
    createdDate: 1_732_800_000_000 + sequence,
    sequenceNumber: BigInt(Math.floor(random() * 64)),
    flags: BigInt(Math.floor(random() * 4)),
    messageId: '00000000-0000-4000-8000-000000000001'.replace(/1$/, String(sequence % 10)),
    payloadType: [PayloadType.Output, PayloadType.Flag, PayloadType.HandshakeRequest, PayloadType.Size][Math.floor(random() * 4)]!,
    payload,
  });
}

/** One frame: random bytes, or a valid frame mutated, truncated, extended, or with a huge length. */
function nextFrame(random: () => number, i: number): Buffer {
  const kind = random();
  if (kind < 0.15) {
    const bytes = Buffer.alloc(Math.floor(random() * 200));
    for (let b = 0; b < bytes.length; b++) bytes[b] = Math.floor(random() * 256);
    return bytes;
  }
  const frame = validFrame(random, i);
  if (kind < 0.45) {
    const flips = 1 + Math.floor(random() * 6);
    for (let f = 0; f < flips; f++) frame[Math.floor(random() * frame.length)] = Math.floor(random() * 256);
    return frame;
  }
  if (kind < 0.6) return frame.subarray(0, Math.floor(random() * frame.length));
  if (kind < 0.7) {
    // The payload-length field (offset 116) claims up to 4 GiB.
    frame.writeUInt32BE(0xffffffff - Math.floor(random() * 16), 116);
    return frame;
  }
  return frame;
}

export function runFuzz(count: number, seed: number): FuzzStats {
  const random = seeded(seed);
  const newChannel = () => new ReliableChannel({ sendType: MessageType.InputStreamData, windowSize: 64, reorderCapacity: 256 });
  let channel = newChannel();
  let smux = new SmuxFrameParser();
  const stats: FuzzStats = { frames: 0, decoded: 0, typedErrors: 0, channelEvents: 0, heapGrowthMiB: 0 };
  const heapBefore = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) {
    const frame = nextFrame(random, i);
    stats.frames++;
    const message = decodeAgentMessage(frame);
    if (message instanceof ProtocolError) {
      stats.typedErrors++;
    } else {
      if (typeof message.messageType !== 'string' || message.payload.length > frame.length) throw new Error(`frame ${i}: an impossible message was decoded`);
      stats.decoded++;
      for (const decode of payloadDecoders) {
        const value = decode(message.payload);
        if (value === undefined || value === null) throw new Error(`frame ${i}: a payload decoder returned nothing`);
      }
    }
    // The channel takes anything: events, never an exception. A failed channel is replaced.
    const events = channel.receive(frame, 1_732_800_000_000 + i);
    stats.channelEvents += events.length;
    if (events.some((event) => event.kind === 'failed')) channel = newChannel();
    // The smux parser likewise: frames or a typed error, after which a session would end.
    const frames = smux.push(frame.subarray(0, 64));
    if (frames instanceof ProtocolError) smux = new SmuxFrameParser();
    else for (const parsed of frames) if (parsed.data.length > 65535) throw new Error(`frame ${i}: an impossible smux frame`);
  }
  stats.heapGrowthMiB = Math.max(0, (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20);
  return stats;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const count = Number(process.argv[2] ?? 2_000_000);
  const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31);
  const started = Date.now();
  const stats = runFuzz(count, seed);
  console.log(JSON.stringify({ seed, ...stats, seconds: (Date.now() - started) / 1000 }));
}
