import { StreamDataPayloadSize } from '../../protocol/constants.js';

/**
 * What Go's utf8.DecodeRune makes of the bytes at `at`: the length of a valid character, or that
 * it is RuneError, and how many bytes that takes. RuneError is what an invalid or cut-off byte
 * gives (1 byte), and also what a real U+FFFD (EF BF BD) decodes to (3 bytes).
 */
function decodeRune(data: Buffer, at: number): { runeError: boolean; size: number } {
  const b0 = data[at]!;
  if (b0 < 0x80) return { runeError: false, size: 1 };
  const cont = (i: number, low = 0x80, high = 0xbf) => at + i < data.length && data[at + i]! >= low && data[at + i]! <= high;
  let size = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) size = cont(1) ? 2 : 0;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    const [low, high] = b0 === 0xe0 ? [0xa0, 0xbf] : b0 === 0xed ? [0x80, 0x9f] : [0x80, 0xbf];
    size = cont(1, low, high) && cont(2) ? 3 : 0;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    const [low, high] = b0 === 0xf0 ? [0x90, 0xbf] : b0 === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    size = cont(1, low, high) && cont(2) && cont(3) ? 4 : 0;
  }
  if (size === 0) return { runeError: true, size: 1 };
  const isReplacementCharacter = size === 3 && b0 === 0xef && data[at + 1] === 0xbf && data[at + 2] === 0xbd;
  return { runeError: isReplacementCharacter, size };
}

/** Go's utf8.UTFMax: the longest a character can be. */
const UTF_MAX = 4;

/**
 * The agent's output path for a command or shell (agent/session/shell/shell.go,
 * `processStdoutData`): it reads at most 1,024 bytes at a time and sends each read, with what the
 * last one held back, as one message, after decoding it character by character:
 * - a valid character goes as it is, and so does an invalid byte;
 * - a RuneError within the last 3 bytes is held for the next read (a character cut by the read);
 * - a literal U+FFFD (EF BF BD) is a RuneError of 3 bytes of which only the first is sent: it
 *   leaves as the single byte EF;
 * - what is still held when the output ends is never sent (the read loop ends at EOF).
 * So the output is not binary-safe; the emulator does the same, so tests meet what AWS sends.
 */
export class AgentOutput {
  private held: Buffer = Buffer.alloc(0);

  /** The messages for bytes the command wrote: one per read of at most 1,024 bytes. */
  push(data: Buffer): Buffer[] {
    const messages: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += StreamDataPayloadSize) {
      const message = this.read(data.subarray(offset, offset + StreamDataPayloadSize));
      if (message.length > 0) messages.push(message);
    }
    return messages;
  }

  private read(bytes: Buffer): Buffer {
    const data = this.held.length > 0 ? Buffer.concat([this.held, bytes]) : bytes;
    const out: Buffer[] = [];
    let start = 0;
    let at = 0;
    while (at < data.length) {
      const { runeError, size } = decodeRune(data, at);
      if (runeError) {
        if (data.length - at < UTF_MAX) break;
        // The byte at `at` goes out; for a literal U+FFFD the two after it do not.
        out.push(data.subarray(start, at + 1));
        at += size;
        start = at;
        continue;
      }
      at += size;
    }
    out.push(data.subarray(start, at));
    this.held = Buffer.from(data.subarray(at));
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}
