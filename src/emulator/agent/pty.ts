import type * as NodePty from 'node-pty';
import { standalone } from '../../build-info.js';

/**
 * node-pty, for the emulator's shells only: an optional dependency with a native part, so that
 * ssmx installs without a compiler. Loaded once, on demand; every other command works without it.
 */
let pty: typeof NodePty | undefined;

/** Loads node-pty; false when it is not installed (or its native part is missing). */
export async function loadPty(): Promise<boolean> {
  if (pty) return true;
  // The standalone executable resolves modules against the path it was built at, not where it
  // runs: a node-pty found there would be an accident of the build machine.
  if (standalone) return false;
  try {
    pty = await import('node-pty');
    return true;
  } catch {
    return false;
  }
}

/** node-pty's spawn, once loadPty has succeeded. */
export function ptySpawn(): typeof NodePty.spawn | undefined {
  return pty?.spawn;
}

/** What to tell a person who runs the emulator where node-pty is missing: one line. */
export const PTY_MISSING = standalone
  ? 'the emulator needs node-pty, a native add-on that the standalone executable cannot load: install the npm package (npm install -g ssmx node-pty) to run it'
  : 'the emulator needs the optional package node-pty for its shells, and it is not installed here: npm install -g node-pty (it compiles with a C++ toolchain)';
