import type { CliContext, GlobalOptions } from './context.js';

/** Colour only for a terminal, and never when NO_COLOR is set or --no-color given. */
export function useColor(context: CliContext, options: GlobalOptions): boolean {
  if (options.color === false || context.env.NO_COLOR !== undefined) return false;
  return context.stderrIsTTY;
}
