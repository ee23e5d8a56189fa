import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './emulator.js';
import { requireTool } from './tools.js';

/**
 * An arm64 Debian root for qemu-aarch64-static's -L: the loader and libraries the linux-arm64
 * executable links against (ld-linux-aarch64.so.1, libc, libstdc++, libgcc_s), from Debian's own
 * packages, checked against the archive's signed Release by debootstrap. The first stage of
 * `debootstrap --arch=arm64 --variant=minbase --foreign` is enough: it unpacks the packages, and
 * nothing of the root is run but through qemu. SSMX_ARM64_ROOT names one made beforehand;
 * otherwise it is made once (as root, which debootstrap needs) and kept in node_modules/.cache.
 */
export async function arm64Root(): Promise<string> {
  const named = process.env.SSMX_ARM64_ROOT;
  if (named) {
    if (!hasLoader(named)) throw new Error(`SSMX_ARM64_ROOT=${named} has no lib/ld-linux-aarch64.so.1: make it with debootstrap --arch=arm64 --variant=minbase --foreign`);
    return named;
  }
  const { suite, mirror } = debianSource();
  const root = join(cachedRoots, suite);
  if (hasLoader(root)) return root;
  mkdirSync(cachedRoots, { recursive: true });
  // Into a folder of this run's, then renamed: two runs at once never use a half-made root.
  const own = join(cachedRoots, `${suite}.${process.pid}`);
  rmSync(own, { recursive: true, force: true });
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const args = ['--arch=arm64', '--variant=minbase', '--foreign', ...(existsSync(keyring) ? [`--keyring=${keyring}`] : []), suite, own, mirror];
  try {
    await promisify(execFile)(requireTool('debootstrap'), args, { maxBuffer: 16 << 20 });
  } catch (error) {
    rmSync(own, { recursive: true, force: true });
    throw new Error(`debootstrap ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr?.trim().split('\n').slice(-3).join(' / ') ?? String(error)}`);
  }
  if (!hasLoader(own)) throw new Error(`debootstrap made ${own} without lib/ld-linux-aarch64.so.1`);
  if (hasLoader(root)) rmSync(own, { recursive: true, force: true });
  else renameSync(own, root);
  return root;
}

const cachedRoots = join(repoRoot, 'node_modules/.cache/ssmx-arm64-root');

const hasLoader = (root: string) => existsSync(join(root, 'lib/ld-linux-aarch64.so.1'));

/** Whether arm64Root can give a root here: one named or made already, or debootstrap run as root. */
export function arm64RootPossible(hasDebootstrap: boolean): boolean {
  if (process.env.SSMX_ARM64_ROOT) return true;
  if (hasLoader(join(cachedRoots, debianSource().suite))) return true;
  return hasDebootstrap && process.getuid?.() === 0;
}

/** This machine's Debian release and the mirror its apt sources name (Debian's own by default). */
function debianSource(): { suite: string; mirror: string } {
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
  const release = read('/etc/os-release');
  const codename = /^ID=debian$/m.test(release) ? /^VERSION_CODENAME=(\w+)$/m.exec(release)?.[1] : undefined;
  const sources = `${read('/etc/apt/sources.list.d/debian.sources')}\n${read('/etc/apt/sources.list')}`;
  const mirror = /^URIs:\s*(https?:\/\/\S+\/debian)\s*$/m.exec(sources)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+\/debian)\s/m.exec(sources)?.[1];
  return { suite: codename ?? 'bookworm', mirror: mirror ?? 'http://deb.debian.org/debian' };
}
