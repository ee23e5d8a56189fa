import { basename } from 'node:path';
import { UsageError } from './errors.js';

/**
 * Names and small rules the command line needs before any command module loads (help texts,
 * option parsing), so that `ssmx --version` or a usage error loads no AWS SDK and no emulator.
 */

/** The program name the AWS CLI runs. */
export const PLUGIN_NAME = 'session-manager-plugin';

/** Whether this process runs as session-manager-plugin: a link or launcher of that name (drop-in mode). */
export function invokedAsPlugin(argv: string[]): boolean {
  return basename(argv[1] ?? '').replace(/\.(c?js|mjs|cmd|exe)$/i, '') === PLUGIN_NAME;
}

export { DEFAULT_SESSIONS, RUN_DOCUMENT } from '../lib/names.js';

export function parseRemotePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`port must be 1 to 65535, not "${text}"`, 'as a ProxyCommand: ssmx proxy %h %p');
  }
  return port;
}
