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

/** The settings of a profile in the shared config file (`[profile NAME]`, or `[default]`), as the AWS CLI reads them. */
export function profileSettings(profile: string | undefined, env: NodeJS.ProcessEnv): Map<string, string> {
  const name = profile ?? env.AWS_PROFILE ?? 'default';
  const settings = new Map<string, string>();
  let text: string;
  try {
    text = readFileSync(env.AWS_CONFIG_FILE || join(env.HOME || homedir(), '.aws', 'config'), 'utf8');
  } catch {
    return settings;
  }
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
