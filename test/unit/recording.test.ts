import { describe, expect, it } from 'vitest';
import { AsciicastRecorder } from '../../src/session/recording.js';

const header = { width: 80, height: 24, timestamp: 1764460800, command: 'ssmx shell i-0123456789abcdef0', title: 'demo', target: 'i-0123456789abcdef0' };

describe('asciicast v2 recording', () => {
  it('a header line, then [seconds, code, text] per event, times from the start', () => {
    const lines: string[] = [];
    let now = 5000;
    const recorder = new AsciicastRecorder((line) => lines.push(line), () => now, header);
    now = 5250;
    recorder.output(Buffer.from('$ '));
    now = 6000;
    recorder.resize(80, 24);
    recorder.resize(100, 30);
    recorder.input(Buffer.from('secret\r'));
    expect(lines).toEqual([
      '{"version":2,"width":80,"height":24,"timestamp":1764460800,"command":"ssmx shell i-0123456789abcdef0","title":"demo","target":"i-0123456789abcdef0","env":{"TERM":"xterm-256color"}}',
      '[0.25,"o","$ "]',
      '[1,"r","100x30"]',
    ]);
  });

  it('input only when asked', () => {
    const lines: string[] = [];
    const recorder = new AsciicastRecorder((line) => lines.push(line), () => 0, header, true);
    recorder.input(Buffer.from('ls\r'));
    expect(lines[1]).toBe('[0,"i","ls\\r"]');
  });

  it('a UTF-8 character split across two messages is whole in the file; escapes are JSON', () => {
    const lines: string[] = [];
    const recorder = new AsciicastRecorder((line) => lines.push(line), () => 0, header);
    const euro = Buffer.from('€', 'utf8');
    recorder.output(Buffer.concat([Buffer.from('\x1b[1m'), euro.subarray(0, 1)]));
    recorder.output(euro.subarray(1));
    expect(lines.slice(1)).toEqual(['[0,"o","\\u001b[1m"]', '[0,"o","€"]']);
  });
});
