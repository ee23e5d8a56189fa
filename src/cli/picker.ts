import type { Readable, Writable } from 'node:stream';
import { painter } from './color.js';
import { UsageError } from './errors.js';

export interface PickerIo {
  stdin: Readable;
  stderr: Writable;
  color: boolean;
}

/** A picker needs a person: a terminal on both stdin and stderr. */
export const canPick = (io: { stdinIsTTY: boolean; stderrIsTTY: boolean }): boolean => io.stdinIsTTY && io.stderrIsTTY;

const UP = new Set(['\x1b[A', '\x1bOA', 'k']);
const DOWN = new Set(['\x1b[B', '\x1bOB', 'j']);
const CHOOSE = new Set(['\r', '\n']);
const CANCEL = new Set(['\x03', '\x1b', 'q', '\x04']);

/**
 * An interactive list on stderr: arrow keys (or j/k) move, Enter chooses, Esc, q or Ctrl-C cancel.
 * `lines` are the items as shown, `header` a line above them (column titles).
 */
export function pick(lines: string[], question: string, header: string | undefined, io: PickerIo): Promise<number> {
  const stdin = io.stdin as Readable & { setRawMode?: (raw: boolean) => void; isRaw?: boolean };
  const paint = painter(io.color);
  const visible = Math.min(lines.length, 15);
  let selected = 0;
  let top = 0;
  let drawn = 0;

  const draw = () => {
    if (selected < top) top = selected;
    if (selected >= top + visible) top = selected - visible + 1;
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    const out = [`${paint.bold('?')} ${question} ${paint.dim('(↑/↓, Enter; Esc to cancel)')}`];
    if (header) out.push(`  ${paint.dim(header)}`);
    for (let i = top; i < top + visible; i++) out.push(i === selected ? paint.cyan(`❯ ${lines[i]}`) : `  ${lines[i]}`);
    text += out.map((line) => `\x1b[2K${line}\r\n`).join('');
    drawn = out.length;
    io.stderr.write(text);
  };

  return new Promise((resolve, reject) => {
    const wasRaw = Boolean(stdin.isRaw);
    stdin.setRawMode?.(true);
    io.stderr.write('\x1b[?25l');
    const finish = (outcome: { chosen: number } | { cancelled: true }) => {
      stdin.off('data', onData);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      // The list goes away; one line says what was chosen.
      io.stderr.write(`\x1b[${drawn}A\x1b[0J\x1b[?25h`);
      if ('chosen' in outcome) {
        io.stderr.write(`${paint.green('✔')} ${question}: ${lines[outcome.chosen]!.replace(/\s+/g, ' ')}\n`);
        resolve(outcome.chosen);
      } else {
        reject(new UsageError('nothing was picked', 'give the target on the command line'));
      }
    };
    const onData = (chunk: Buffer | string) => {
      const key = chunk.toString();
      if (UP.has(key)) selected = (selected + lines.length - 1) % lines.length;
      else if (DOWN.has(key)) selected = (selected + 1) % lines.length;
      else if (CHOOSE.has(key)) return finish({ chosen: selected });
      else if (CANCEL.has(key)) return finish({ cancelled: true });
      else return;
      draw();
    };
    stdin.on('data', onData);
    stdin.resume();
    draw();
  });
}
