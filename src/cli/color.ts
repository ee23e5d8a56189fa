import type { CliContext, GlobalOptions } from './context.js';

/** Colour only for a terminal, and never when NO_COLOR is set or --no-color given. */
export function useColor(context: CliContext, options: GlobalOptions): boolean {
  if (options.color === false || context.env.NO_COLOR !== undefined) return false;
  return context.stderrIsTTY;
}

export type Paint = Record<'red' | 'green' | 'cyan' | 'bold' | 'dim', (text: string) => string>;

/**
 * The few styles ssmx prints: the basic SGR sequences when colour is on (what chalk writes at its
 * basic level), the text alone when it is off. Chalk itself is not loaded for them: its colour
 * detection brings node:tty and node:os to every command's start.
 */
export function painter(color: boolean): Paint {
  const style = (open: number, close: number) => (text: string) => (color ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return { red: style(31, 39), green: style(32, 39), cyan: style(36, 39), bold: style(1, 22), dim: style(2, 22) };
}
