import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
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
}

export function configPath(env: NodeJS.ProcessEnv): string {
  if (env.SSMX_CONFIG) return env.SSMX_CONFIG;
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
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !env.SSMX_CONFIG) return { aliases: {} };
    throw new UsageError(`cannot read the config file ${path}: ${(error as Error).message}`);
  }
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('it must hold a JSON object');
    const aliases: Record<string, Alias> = {};
    const rawAliases = (raw.aliases ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, alias] of Object.entries(rawAliases)) {
      if (!alias || typeof alias !== 'object') throw new Error(`aliases.${name} must be an object`);
      const target = optionalString(alias.target, `aliases.${name}.target`);
      if (!target) throw new Error(`aliases.${name} needs a "target"`);
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
    const config: SsmxConfig = { aliases };
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
