import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { AwsError } from './errors.js';

/** The section names of an INI file: `[name]`, or `[profile name]` in the config file. */
function sections(path: string, prefix: 'profile ' | ''): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const match of text.matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)) {
    const section = match[1]!;
    if (prefix && section.startsWith(prefix)) names.push(section.slice(prefix.length).trim());
    else if (section === 'default' || !prefix) names.push(section);
  }
  return names;
}

/** The profiles the shared config and credentials files define, as the AWS CLI reads them. */
export function profileNames(env: NodeJS.ProcessEnv): Set<string> {
  const home = env.HOME || homedir();
  return new Set([
    ...sections(env.AWS_CONFIG_FILE || join(home, '.aws', 'config'), 'profile '),
    ...sections(env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials'), ''),
  ]);
}

/** A named profile must exist, as the AWS CLI says: "The config profile (NAME) could not be found". */
export function checkProfile(profile: string | undefined, env: NodeJS.ProcessEnv): void {
  if (!profile || profileNames(env).has(profile)) return;
  throw new AwsError(
    'usage',
    'ProfileNotFound',
    `the config profile (${profile}) could not be found`,
    `aws configure list-profiles shows the profiles; check --profile, AWS_PROFILE and AWS_CONFIG_FILE`,
  );
}

/** The shared config file's text; undefined when there is none to read. */
function configText(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config'), 'utf8');
  } catch {
    return undefined;
  }
}

/** The settings of a profile in the shared config file (`[profile NAME]`, or `[default]`), as the AWS CLI reads them. */
export function profileSettings(profile: string | undefined, env: NodeJS.ProcessEnv): Map<string, string> {
  const name = profile ?? env.AWS_PROFILE ?? 'default';
  const settings = new Map<string, string>();
  const text = configText(env);
  if (text === undefined) return settings;
  let inSection = false;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      const section = header[1]!;
      inSection = section === (name === 'default' ? 'default' : `profile ${name}`) || (name === 'default' && section === 'profile default');
      continue;
    }
    const setting = inSection && /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (setting) settings.set(setting[1]!, setting[2]!);
  }
  return settings;
}

/** The settings of `[services NAME]` for one service (its indented sub-section), as the SDK reads them. */
function servicesSection(name: string, service: string, env: NodeJS.ProcessEnv): Map<string, string> | undefined {
  const text = configText(env);
  if (text === undefined) return undefined;
  let found: Map<string, string> | undefined;
  let inSection = false;
  let current: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^\s*\[\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      inSection = header[1]!.replace(/\s+/g, ' ') === `services ${name}`;
      if (inSection) found ??= new Map();
      current = undefined;
      continue;
    }
    if (!inSection) continue;
    const setting = /^(\s*)([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (!setting) continue;
    if (!setting[1]) current = setting[3] === '' ? setting[2]!.toLowerCase() : undefined;
    else if (current === service) found!.set(setting[2]!, setting[3]!);
  }
  return found;
}

/**
 * The endpoint the shared config file names for a service, as the SDK looks for it (its
 * "service-specific endpoints"): the profile's `services` section, then the profile's
 * `endpoint_url`; none when ignore_configured_endpoint_urls (or AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)
 * is true. The environment's AWS_ENDPOINT_URL(_SERVICE) is read before this (client-config.ts).
 */
export function configuredEndpoint(profile: string | undefined, env: NodeJS.ProcessEnv, service: string): string | undefined {
  const settings = profileSettings(profile, env);
  const ignore = (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? settings.get('ignore_configured_endpoint_urls'))?.toLowerCase() === 'true';
  if (ignore) return undefined;
  const services = settings.get('services');
  if (services) {
    const section = servicesSection(services, service, env);
    if (!section) throw new AwsError('usage', 'ServicesSection', `the services section "${services}" named in the profile is not in the shared config file`, 'add [services NAME] to the config file, or remove services from the profile');
    const url = section.get('endpoint_url');
    if (url) return url;
  }
  return settings.get('endpoint_url') || undefined;
}
