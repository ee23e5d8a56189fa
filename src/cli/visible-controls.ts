/**
 * One line of someone else's output made safe to print on a terminal after a prefix of ours: every
 * control character but the tab is written out as `\xHH` (its code point in two hex digits), as
 * journalctl shows them, so a carriage return, a backspace or an escape sequence (a clear-screen,
 * an OSC title, a cursor move) cannot overwrite the prefix or draw a line that seems another's.
 * The controls are C0 (U+0000 to U+001F), DEL (U+007F) and C1 (U+0080 to U+009F: a terminal may
 * take U+009B as CSI). A carriage return that ends the line is dropped: before the newline that
 * follows it, it shows nothing (Windows' CRLF) and moves nothing. A backslash stays as it is, so
 * an instance that prints the text `\x0d` looks the same as one that printed a carriage return.
 */
export function visibleControls(line: string): string {
  const text = line.endsWith('\r') ? line.slice(0, -1) : line;
  // eslint-disable-next-line no-control-regex -- the control characters are what this is about
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (control) => `\\x${control.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
