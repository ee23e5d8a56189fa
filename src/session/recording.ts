import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

/**
 * A session written as an asciicast v2 recording (asciinema's format): a JSON header line, then
 * one JSON array per event, `[seconds since the start, code, text]` — "o" for output, "i" for
 * input, "r" for a resize ("COLSxROWS"). Pure: the clock and where each line goes are handed in.
 * Output is decoded as UTF-8 across message boundaries, so a character split between two
 * messages is one character in the file.
 */
export interface RecordingHeader {
  width: number;
  height: number;
  /** Seconds since the epoch, at the start. */
  timestamp: number;
  command: string;
  title: string;
  target: string;
}

export class AsciicastRecorder {
  private readonly started: number;
  private size: string;
  private readonly decoders = { o: new StringDecoder('utf8'), i: new StringDecoder('utf8') };

  constructor(
    private readonly line: (text: string) => void,
    private readonly now: () => number,
    header: RecordingHeader,
    private readonly withInput = false,
  ) {
    this.started = now();
    const { width, height, timestamp, command, title, target } = header;
    this.size = `${width}x${height}`;
    this.line(JSON.stringify({ version: 2, width, height, timestamp, command, title, target, env: { TERM: 'xterm-256color' } }));
  }

  output(data: Buffer): void {
    this.event('o', this.decoders.o.write(data));
  }

  /** Keys typed: kept only when asked (--record-input), as they may be passwords. */
  input(data: Buffer): void {
    if (this.withInput) this.event('i', this.decoders.i.write(data));
  }

  /** The window's size; recorded when it differs from the last one (the header's at first). */
  resize(cols: number, rows: number): void {
    if (`${cols}x${rows}` === this.size) return;
    this.size = `${cols}x${rows}`;
    this.event('r', this.size);
  }

  private event(code: 'o' | 'i' | 'r', text: string): void {
    if (text === '') return;
    const seconds = Math.max(0, this.now() - this.started) / 1000;
    this.line(JSON.stringify([Number(seconds.toFixed(6)), code, text]));
  }
}

/**
 * The recording's file, mode 0600, each line written through at once, so that a session cut at
 * any moment leaves a file that plays up to that moment. A file already there with something in
 * it is replaced only when `overwrite` says so; else this is undefined and the file untouched, as
 * `asciinema rec` refuses without --overwrite (asciinema 2.2 commands/record.py; an empty file is
 * taken, as there).
 */
export function recordingFile(path: string, overwrite: boolean): { line: (text: string) => void; close: () => void } | undefined {
  // Opened before it is looked at, without truncating: nothing can come between the look and the write.
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, 0o600);
  if (fstatSync(fd).size > 0) {
    if (!overwrite) {
      closeSync(fd);
      return undefined;
    }
    ftruncateSync(fd, 0);
  }
  // An existing file keeps its mode: make it private all the same.
  fchmodSync(fd, 0o600);
  return {
    line: (text) => void writeSync(fd, `${text}\n`),
    close: () => closeSync(fd),
  };
}
