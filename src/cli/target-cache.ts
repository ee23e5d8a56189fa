import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** How long the completion cache answers before AWS is asked again. */
export const TARGET_CACHE_TTL_MS = 60_000;

/**
 * The short-lived cache behind shell completion of targets (instance ids, Name tags): one small
 * file per account setting (profile, region, endpoint) under the user's cache directory, mode
 * 0600 in a 0700 directory, so a Tab never waits on AWS twice a minute.
 */
export class TargetCache {
  private readonly file: string;

  constructor(env: NodeJS.ProcessEnv, key: { profile?: string | undefined; region?: string | undefined; endpointUrl?: string | undefined }) {
    const base = env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache');
    const id = createHash('sha256').update(JSON.stringify([key.profile ?? '', key.region ?? '', key.endpointUrl ?? ''])).digest('hex').slice(0, 16);
    this.file = join(base, 'ssmx', `targets-${id}.json`);
  }

  /** The cached candidates when younger than the TTL, else undefined. */
  read(now: number): string[] | undefined {
    try {
      const cached = JSON.parse(readFileSync(this.file, 'utf8')) as { at?: number; targets?: unknown };
      if (typeof cached.at !== 'number' || now - cached.at > TARGET_CACHE_TTL_MS || !Array.isArray(cached.targets)) return undefined;
      return cached.targets.filter((target): target is string => typeof target === 'string');
    } catch {
      return undefined;
    }
  }

  write(targets: string[], now: number): void {
    try {
      mkdirSync(join(this.file, '..'), { recursive: true, mode: 0o700 });
      const partial = `${this.file}.${process.pid}`;
      writeFileSync(partial, JSON.stringify({ at: now, targets }), { mode: 0o600 });
      renameSync(partial, this.file);
    } catch {
      // A cache that cannot be written costs a slower Tab, nothing more.
    }
  }
}
