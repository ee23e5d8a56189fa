/**
 * OpenSSH's escape sequences for an interactive session, as a pure filter over what is typed: the
 * escape character (`~` by default) is special only right after a newline (or at the very start).
 * Then `~.` ends the session, `~?` lists the escapes, and `~~` sends one `~`; the escape character
 * followed by anything else is sent as typed, both bytes. An escape character at the end of a chunk
 * is held until the next byte decides it.
 */
export type EscapeAction = 'disconnect' | 'help';

export class EscapeFilter {
  private atLineStart = true;
  private pending = false;

  constructor(private readonly escapeChar: number) {}

  /** What to send on, and what was asked for, from one chunk of keys. */
  feed(chunk: Buffer): { send: Buffer; actions: EscapeAction[] } {
    const out: number[] = [];
    const actions: EscapeAction[] = [];
    for (const byte of chunk) {
      if (this.pending) {
        this.pending = false;
        if (byte === 0x2e) {
          actions.push('disconnect');
          // Nothing typed after it goes anywhere.
          return { send: Buffer.from(out), actions };
        }
        if (byte === 0x3f) {
          actions.push('help');
          this.atLineStart = true;
          continue;
        }
        if (byte === this.escapeChar) {
          out.push(byte);
          this.atLineStart = false;
          continue;
        }
        out.push(this.escapeChar);
      } else if (this.atLineStart && byte === this.escapeChar) {
        this.pending = true;
        continue;
      }
      out.push(byte);
      this.atLineStart = byte === 0x0d || byte === 0x0a;
    }
    return { send: Buffer.from(out), actions };
  }
}

/** The list `~?` shows, with the escape character the session uses. */
export function escapeHelp(escape: string): string {
  return [
    'Supported escape sequences:',
    ` ${escape}.   - end the session (and terminate it on the service)`,
    ` ${escape}?   - this message`,
    ` ${escape}${escape}   - send the escape character by typing it twice`,
    '(Note that escapes are only recognized immediately after newline.)',
  ].join('\r\n');
}

/** --escape-char: one character, `^X` for a control character, or `none`; undefined for none. */
export function parseEscapeChar(text: string): number | undefined {
  if (text === 'none') return undefined;
  if (/^\^[@-_a-z]$/.test(text)) return text.toUpperCase().charCodeAt(1) & 0x1f;
  if (text.length === 1 && text.charCodeAt(0) < 0x80) return text.charCodeAt(0);
  throw new Error(`--escape-char is one character, ^X for a control character, or none; not ${JSON.stringify(text)}`);
}
