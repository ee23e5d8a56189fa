import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { shellQuote, ssmxCommandWord } from '../self.js';

import { ALIAS_SUFFIX } from './proxy.js';

export interface SshOptions extends GlobalOptions {
  port?: string;
  login?: string;
}

export interface SshConfigOptions extends GlobalOptions {
  user?: string;
}

/** The ProxyCommand line, carrying the global options that pick the account and region. */
export function proxyCommandLine(options: GlobalOptions, env: NodeJS.ProcessEnv): string {
  const words = [ssmxCommandWord(env)];
  if (options.region) words.push('--region', shellQuote(options.region));
  if (options.profile) words.push('--profile', shellQuote(options.profile));
  if (options.endpointUrl) words.push('--endpoint-url', shellQuote(options.endpointUrl));
  words.push('proxy', '%h', '%p');
  return words.join(' ');
}

/** `ssmx ssh-config`: Host blocks to paste into ~/.ssh/config. */
export function sshConfigCommand(options: SshConfigOptions, context: CliContext): number {
  const proxy = proxyCommandLine(options, context.env);
  const user = options.user ? `    User ${options.user}\n` : '';
  // The examples show the login the blocks set, or the usual one when they set none.
  const login = options.user ? '' : 'ec2-user@';
  context.stdout.write(
    `# ssh through AWS Session Manager with ssmx: add these lines to ~/.ssh/config.\n` +
      `# By instance id:  ssh ${login}i-0123456789abcdef0\n` +
      `Host i-* mi-*\n` +
      user +
      `    ProxyCommand ${proxy}\n` +
      `# By Name tag:     ssh ${login}web-1${ALIAS_SUFFIX}\n` +
      `Host *${ALIAS_SUFFIX}\n` +
      user +
      `    ProxyCommand ${proxy}\n`,
  );
  return 0;
}

/**
 * `ssmx ssh [user@]target [-- ssh args…]`: the system ssh with ssmx as its ProxyCommand. ssh owns
 * the terminal and its signals; ssmx waits and exits with ssh's status.
 */
export async function sshCommand(destination: string, sshArgs: string[], options: SshOptions, context: CliContext): Promise<number> {
  if (!destination || destination.startsWith('-')) throw new UsageError(`"${destination}" is not a destination`, 'ssmx ssh ec2-user@i-0123456789abcdef0 -- -L 8080:localhost:80');
  // ssh hands its -p to the ProxyCommand as %p, which becomes the session's port on the instance.
  const own = [...(options.port ? ['-p', options.port] : []), ...(options.login ? ['-l', options.login] : [])];
  const args = ['-o', `ProxyCommand=${proxyCommandLine(options, context.env)}`, ...own, destination, ...sshArgs];
  const child = spawn('ssh', args, { stdio: 'inherit', env: context.env });
  // Keyboard signals reach ssh through the terminal; ssmx must outlive them to report its status.
  const removeSignals = context.signals.on(['SIGINT', 'SIGQUIT', 'SIGTSTP'], () => undefined);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' ? new UsageError('ssh was not found on the PATH', 'install an OpenSSH client, or use `ssmx proxy` from your own ssh') : error),
      );
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    removeSignals();
  }
}
