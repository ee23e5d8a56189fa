import { realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** This ssmx's launcher script (bin/ssmx), from the built module's place in dist/. */
export const ssmxBin = fileURLToPath(new URL('../../../bin/ssmx', import.meta.url));

const realpath = (path: string) => {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
};

/** Quotes a word for a POSIX shell (ssh runs ProxyCommand through one) when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * How another program (ssh) should run this ssmx: plain `ssmx` when that name on the PATH is this
 * very program, else the full path of its launcher.
 */
export function ssmxCommandWord(env: NodeJS.ProcessEnv): string {
  const self = realpath(ssmxBin);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && self && realpath(join(dir, 'ssmx')) === self) return 'ssmx';
  }
  return shellQuote(ssmxBin);
}
