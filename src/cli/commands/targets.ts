import { listManagedInstances } from '../../aws/targets.js';
import { awsFor } from '../aws-context.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { TargetCache } from '../target-cache.js';
import { loadSsmxConfig } from '../config-file.js';

/** How long completion may wait on AWS when the cache is cold. */
const COMPLETION_TIMEOUT_S = 3;

/**
 * `ssmx __targets` (hidden; what the completion scripts call): the targets a person may type, one
 * a line — the config file's aliases, then the online instances' Name tags and ids, from the cache
 * when it is fresh. It never prompts, never waits long, and never fails: completion must not.
 */
export async function targetsCommand(options: GlobalOptions, context: CliContext): Promise<number> {
  const aliases = (() => {
    try {
      return Object.keys(loadSsmxConfig(context.env).aliases);
    } catch {
      return [];
    }
  })();
  const quiet = { ...options, quiet: true, verbose: false, debug: false, connectTimeout: COMPLETION_TIMEOUT_S, readTimeout: COMPLETION_TIMEOUT_S };
  let instances: string[] = [];
  try {
    const aws = awsFor(quiet, { ...context, stdinIsTTY: false, openTerminal: () => undefined });
    const cache = new TargetCache(context.env, { profile: aws.options.profile ?? context.env.AWS_PROFILE, region: aws.options.region ?? context.env.AWS_REGION, endpointUrl: aws.options.endpointUrl ?? context.env.AWS_ENDPOINT_URL });
    const now = context.timers.now();
    const cached = cache.read(now);
    if (cached) {
      instances = cached;
    } else {
      try {
        const online = (await listManagedInstances(aws.targets())).filter((instance) => instance.pingStatus === 'Online');
        instances = [...new Set([...online.map((instance) => instance.name).filter(Boolean), ...online.map((instance) => instance.id)])];
        cache.write(instances, now);
      } finally {
        aws.destroy();
      }
    }
  } catch {
    // No credentials, no network, no answer in time: aliases are still worth offering.
  }
  for (const target of [...aliases, ...instances]) context.stdout.write(`${target}\n`);
  return 0;
}
