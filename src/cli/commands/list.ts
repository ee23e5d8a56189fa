import { findByTag, listManagedInstances, parseTargetSpec, shownTarget, type ManagedInstance } from '../../aws/targets.js';
import { awsFor, INSTANCE_HEADER, instanceRow } from '../aws-context.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { formatTable } from '../table.js';

export interface ListOptions extends GlobalOptions {
  json?: boolean;
  filter?: string;
}

/** `*` and `?` as in a shell; anything else literal; whole-string, case-insensitive. */
const globToRegExp = (glob: string) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');

/** `ssmx list`: the managed instances, as a table for people or JSON for scripts. */
export async function listCommand(options: ListOptions, context: CliContext): Promise<number> {
  const aws = awsFor(options, context);
  try {
    let instances: ManagedInstance[];
    const spec = options.filter ? parseTargetSpec(options.filter) : undefined;
    if (spec?.kind === 'tag') {
      instances = await findByTag(aws.targets(), spec.key, spec.value);
    } else {
      instances = await listManagedInstances(aws.targets());
      if (options.filter) {
        const filter = options.filter;
        const matches = /[*?]/.test(filter) ? (text: string) => globToRegExp(filter).test(text) : (text: string) => text.toLowerCase().includes(filter.toLowerCase());
        instances = instances.filter((instance) => matches(instance.name) || matches(instance.id));
      }
    }
    instances.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    if (options.json) {
      context.stdout.write(`${JSON.stringify(instances, null, 2)}\n`);
      return 0;
    }
    if (instances.length === 0) {
      aws.say(options.filter ? `no managed instance matches ${shownTarget(options.filter)}` : 'no managed instances in this account and region');
      return 0;
    }
    for (const line of formatTable([INSTANCE_HEADER, ...instances.map(instanceRow)])) context.stdout.write(`${line}\n`);
    return 0;
  } finally {
    aws.destroy();
  }
}
