import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, win32 } from 'node:path';
import { UsageError } from './errors.js';

/** A named target with the account, region and forwards that go with it. */
export interface Alias {
  target: string;
  profile?: string;
  region?: string;
  /** Port specs `ssmx forward <alias>` uses when none are given. */
  forward?: string[];
}

export interface SsmxConfig {
  profile?: string;
  region?: string;
  endpointUrl?: string;
  aliases: Record<string, Alias>;
  /** Keys the file holds that ssmx does not know, each with the known key it most resembles. */
  unknownKeys?: string[];
}

const TOP_KEYS = ['profile', 'region', 'endpointUrl', 'aliases'];
const ALIAS_KEYS = ['target', 'profile', 'region', 'forward'];

/** The edit distance of two short words (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}

/** `where` names an unknown key: a line for the person, with the nearest known key when one is close. */
function unknownKey(where: string, key: string, known: string[]): string {
  const nearest = [...known].sort((x, y) => distance(key, x) - distance(key, y))[0]!;
  return distance(key, nearest) <= Math.max(2, Math.floor(nearest.length / 3)) ? `${where}: did you mean "${nearest}"?` : `${where} is not a setting ssmx knows (${known.join(', ')})`;
}

/** Where the config file is: SSMX_CONFIG, else the platform's place for a user's settings. */
export function configPath(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  if (env.SSMX_CONFIG) return env.SSMX_CONFIG;
  if (platform === 'win32') return win32.join(env.APPDATA || win32.join(env.USERPROFILE || homedir(), 'AppData', 'Roaming'), 'ssmx', 'config.json');
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'ssmx', 'config.json');
}

const optionalString = (value: unknown, where: string): string | undefined => {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw new Error(`${where} must be a non-empty string`);
  return value;
};

/** Reads the config file; none at the default place is an empty config, a broken one an error. */
export function loadSsmxConfig(env: NodeJS.ProcessEnv): SsmxConfig {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !env.SSMX_CONFIG) return { aliases: {} };
    if (code === 'ENOENT') throw new UsageError(`the config file ${path} that SSMX_CONFIG names does not exist`, 'create it, or unset SSMX_CONFIG to use ~/.config/ssmx/config.json');
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('it must hold a JSON object');
    const aliases: Record<string, Alias> = {};
    const unknownKeys = Object.keys(raw)
      .filter((key) => !TOP_KEYS.includes(key))
      .map((key) => unknownKey(`"${key}"`, key, TOP_KEYS));
    const rawAliases = (raw.aliases ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, alias] of Object.entries(rawAliases)) {
      if (!alias || typeof alias !== 'object') throw new Error(`aliases.${name} must be an object`);
      const target = optionalString(alias.target, `aliases.${name}.target`);
      if (!target) throw new Error(`aliases.${name} needs a "target"`);
      for (const key of Object.keys(alias)) if (!ALIAS_KEYS.includes(key)) unknownKeys.push(unknownKey(`"aliases.${name}.${key}"`, key, ALIAS_KEYS));
      const forward = alias.forward;
      if (forward !== undefined && (!Array.isArray(forward) || !forward.every((spec) => typeof spec === 'string'))) {
        throw new Error(`aliases.${name}.forward must be a list of port specs`);
      }
      aliases[name] = {
        target,
        ...(alias.profile !== undefined ? { profile: optionalString(alias.profile, `aliases.${name}.profile`)! } : {}),
        ...(alias.region !== undefined ? { region: optionalString(alias.region, `aliases.${name}.region`)! } : {}),
        ...(forward ? { forward: forward as string[] } : {}),
      };
    }
    const config: SsmxConfig = { aliases, ...(unknownKeys.length > 0 ? { unknownKeys } : {}) };
    const profile = optionalString(raw.profile, 'profile');
    const region = optionalString(raw.region, 'region');
    const endpointUrl = optionalString(raw.endpointUrl, 'endpointUrl');
    if (profile) config.profile = profile;
    if (region) config.region = region;
    if (endpointUrl) config.endpointUrl = endpointUrl;
    return config;
  } catch (error) {
    throw new UsageError(`the config file ${path} is not valid: ${(error as Error).message}`, 'see the README, "Config file"');
  }
}
