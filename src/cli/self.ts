import { readFileSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bundledVersion, standalone } from '../build-info.js';

export { standalone };

/** ssmx's own folder and package.json: two folders up from src/cli, three from dist/src/cli or dist/bundle/chunks. */
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

let own: { root: string; version: string } | undefined;
const ownOnce = () => (own ??= ownPackage());

export const ssmxVersion: string = bundledVersion ?? ownOnce().version;

/** This ssmx's launcher script (bin/ssmx); the executable itself when standalone. */
export function ssmxBin(): string {
  return standalone ? process.execPath : join(ownOnce().root, 'bin', 'ssmx');
}

/** The words that run this ssmx again: the executable alone, or this Node and the launcher script. */
export function selfInvocation(): string[] {
  return standalone ? [process.execPath] : [process.execPath, ssmxBin()];
}

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
 * very program, else the full paths of `selfInvocation()`, which need nothing on the PATH.
 */
export function ssmxCommandWord(env: NodeJS.ProcessEnv): string {
  const self = realpath(ssmxBin());
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && self && realpath(join(dir, 'ssmx')) === self) return 'ssmx';
  }
  return selfInvocation().map(shellQuote).join(' ');
}
