import { describe, expect, it } from 'vitest';
import { AgentOutput } from '../../src/emulator/agent/agent-output.js';

// The agent's processStdoutData (aws/amazon-ssm-agent, agent/session/shell/shell.go), byte for byte.
const out = (...reads: Array<Buffer | number[] | string>) => {
  const output = new AgentOutput();
  return reads.map((read) => output.push(Buffer.isBuffer(read) ? read : typeof read === 'string' ? Buffer.from(read) : Buffer.from(read)));
};

describe('the agent\'s output path (processStdoutData)', () => {
  it('sends each read of at most 1,024 bytes as one message', () => {
    const [messages] = out(Buffer.alloc(2500, 0x61));
    expect(messages!.map((m) => m.length)).toEqual([1024, 1024, 452]);
  });

  it('never splits a character: one cut by a read is held and goes with the next', () => {
    const euro = Buffer.from('€'); // e2 82 ac
    const [first, second] = out(Buffer.concat([Buffer.from('ab'), euro.subarray(0, 2)]), euro.subarray(2));
    expect(first).toEqual([Buffer.from('ab')]);
    expect(second).toEqual([euro]);
    // Whole characters across many reads come out whole, in order.
    const text = 'é€😀'.repeat(400);
    const [messages] = out(Buffer.from(text));
    for (const message of messages!) expect(Buffer.from(message.toString('utf8'))).toEqual(message);
    expect(Buffer.concat(messages!).toString()).toBe(text);
  });

  it('passes invalid bytes through, except within the last 3 bytes of a read, which wait for the next', () => {
    expect(out([0xff, 0xfe, 0x80, 0x41, 0x42, 0x43, 0x44])).toEqual([[Buffer.from([0xff, 0xfe, 0x80, 0x41, 0x42, 0x43, 0x44])]]);
    // 0xff is the third byte from the end: it waits, then goes with what follows.
    expect(out([0x41, 0xff, 0x42, 0x43], [0x44, 0x45, 0x46, 0x47])).toEqual([[Buffer.from([0x41])], [Buffer.from([0xff, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47])]]);
  });

  it('a literal EF BF BD (U+FFFD) leaves as the single byte EF', () => {
    const [messages] = out(Buffer.concat([Buffer.from('a'), Buffer.from([0xef, 0xbf, 0xbd]), Buffer.from('bcd')]));
    expect(messages).toEqual([Buffer.from([0x61, 0xef, 0x62, 0x63, 0x64])]);
  });

  it('what is held when the output ends is never sent', () => {
    const output = new AgentOutput();
    // The agent's read loop stops at EOF with E2 82 in its buffer: the stream's last message is "AB".
    expect(output.push(Buffer.from([0x41, 0x42, 0xe2, 0x82]))).toEqual([Buffer.from('AB')]);
  });

  it('random streams: in order, only EF BF BD shortened and the held tail lost', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let round = 0; round < 200; round++) {
      const output = new AgentOutput();
      const input = Buffer.from(Array.from({ length: 600 }, () => (random() < 0.6 ? 0x61 : Math.floor(random() * 256))));
      const sent = Buffer.concat(output.push(input.subarray(0, 300)).concat(output.push(input.subarray(300))));
      // Every byte sent is a byte of the input, in order (a subsequence), and at most 3 are lost at the end.
      const expected = input.toString('latin1').replace(/\xef\xbf\xbd/g, '\xef');
      expect(expected.startsWith(sent.toString('latin1'))).toBe(true);
      expect(expected.length - sent.length).toBeLessThanOrEqual(3);
    }
  });
});
