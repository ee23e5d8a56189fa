import { findByTag, listManagedInstances, parseTargetSpec, shownTarget, type ManagedInstance } from '../../aws/targets.js';
import { awsFor } from '../aws-context.js';
import { DEFAULT_COLUMNS, instanceTable, LIST_COLUMNS, type ListColumn } from '../instance-columns.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { formatTable } from '../table.js';

export interface ListOptions extends GlobalOptions {
  json?: boolean;
  filter?: string;
  /** Checked as the command line is read. */
  columns?: ListColumn[];
  sort?: ListColumn;
}

/** Versions sort as numbers, part by part; everything else as text. */
const compareCells = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

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
    const sortBy = LIST_COLUMNS[options.sort ?? 'name'];
    instances.sort((a, b) => compareCells(sortBy(a), sortBy(b)) || a.id.localeCompare(b.id));
    if (options.json) {
      context.stdout.write(`${JSON.stringify(instances, null, 2)}\n`);
      return 0;
    }
    if (instances.length === 0) {
      aws.say(options.filter ? `no managed instance matches ${shownTarget(options.filter)}` : 'no managed instances in this account and region');
      return 0;
    }
    for (const line of formatTable(instanceTable(instances, options.columns ?? DEFAULT_COLUMNS))) context.stdout.write(`${line}\n`);
    return 0;
  } finally {
    aws.destroy();
  }
}
