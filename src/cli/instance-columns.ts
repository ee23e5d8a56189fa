import type { ManagedInstance } from '../aws/targets.js';

/** The columns `ssmx list` can show, and what each shows of an instance. */
export const LIST_COLUMNS = {
  name: (i: ManagedInstance) => i.name || '-',
  id: (i: ManagedInstance) => i.id,
  ip: (i: ManagedInstance) => i.ipAddress || '-',
  platform: (i: ManagedInstance) => i.platform || '-',
  agent: (i: ManagedInstance) => i.agentVersion || '-',
  ping: (i: ManagedInstance) => i.pingStatus || '-',
  type: (i: ManagedInstance) => i.instanceType || '-',
  state: (i: ManagedInstance) => i.state || '-',
  tags: (i: ManagedInstance) =>
    Object.entries(i.tags)
      .filter(([key]) => key !== 'Name')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, value]) => `${key}=${value}`)
      .join(',') || '-',
} as const;

export type ListColumn = keyof typeof LIST_COLUMNS;

/** What a plain `ssmx list` and the picker show (scripts read this table: it does not change). */
export const DEFAULT_COLUMNS: ListColumn[] = ['name', 'id', 'ip', 'platform', 'agent', 'ping'];


/** A table of instances: a header line, then a line each, in these columns. */
export const instanceTable = (instances: ManagedInstance[], columns: ListColumn[] = DEFAULT_COLUMNS): string[][] => [
  columns.map((column) => column.toUpperCase()),
  ...instances.map((instance) => columns.map((column) => LIST_COLUMNS[column](instance))),
];
