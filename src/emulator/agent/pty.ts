import type * as NodePty from 'node-pty';

/**
 * node-pty, for the emulator's shells only: an optional dependency with a native part, so that
 * ssmx installs without a compiler. Loaded once, on demand; every other command works without it.
 */
let pty: typeof NodePty | undefined;

/** Loads node-pty; false when it is not installed (or its native part is missing). */
export async function loadPty(): Promise<boolean> {
  if (pty) return true;
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
export const PTY_MISSING = 'the emulator needs the optional package node-pty for its shells, and it is not installed here: npm install -g node-pty (it compiles with a C++ toolchain)';
