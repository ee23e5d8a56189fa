import { readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ssmx's own folder and package.json: two folders up from src/cli, three from dist/src/cli. */
function ownPackage(): { root: string; version: string } {
  for (const up of ['../../', '../../../']) {
    const root = fileURLToPath(new URL(up, import.meta.url));
    try {
      const found = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (found.name === 'ssmx') return { root, version: found.version };
    } catch {
      // not at this depth
    }
  }
  throw new Error('ssmx cannot find its own package.json');
}

const own = ownPackage();

export const ssmxVersion = own.version;

/** This ssmx's launcher script (bin/ssmx). */
export const ssmxBin = join(own.root, 'bin', 'ssmx');

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
 * very program, else this Node and the full path of the launcher, which need nothing on the PATH.
 */
export function ssmxCommandWord(env: NodeJS.ProcessEnv): string {
  const self = realpath(ssmxBin);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && self && realpath(join(dir, 'ssmx')) === self) return 'ssmx';
  }
  return `${shellQuote(process.execPath)} ${shellQuote(ssmxBin)}`;
}
