import { awsFor } from '../aws-context.js';
import { SessionError } from '../../session/errors.js';
import { runStream } from '../../session/stream.js';
import { portMode } from '../../session/tunnel.js';
import { startDataChannel } from '../../lib/open.js';
import { waitReady } from '../../session/data-channel-session.js';
import { Lifecycle } from '../lifecycle.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';

export interface ProxyOptions extends GlobalOptions {
  reason?: string;
}

/** ssh config aliases: `Host *.ssmx` lets `ssh web-1.ssmx` reach the instance whose Name tag is web-1. */
export const ALIAS_SUFFIX = '.ssmx';

export const SSH_DOCUMENT = 'AWS-StartSSHSession';

export { parseRemotePort } from '../names.js';
import { parseRemotePort } from '../names.js';

/** The signals that end a proxy: ssh sends SIGHUP to its ProxyCommand when it exits. */
const stopSignals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT'];

/**
 * `ssmx proxy <target> [port]`: an AWS-StartSSHSession session joined to stdin/stdout, for ssh's
 * ProxyCommand. Nothing but the stream ever goes to stdout; there is no spinner (ssh shares the
 * terminal), only errors on stderr.
 */
export async function proxyCommand(target: string, portText: string | undefined, options: ProxyOptions, context: CliContext): Promise<number> {
  const port = parseRemotePort(portText ?? '22');
  const name = target.endsWith(ALIAS_SUFFIX) ? target.slice(0, -ALIAS_SUFFIX.length) : target;
  if (!name) throw new UsageError('no target given', 'ssmx proxy i-0123456789abcdef0 22');
  const aws = awsFor(options, context, name);
  const lifecycle = new Lifecycle({ signals: context.signals, stopSignals });
  try {
    return await lifecycle.run(async () => {
      const instanceId = await aws.resolve(name);
      const { session } = await startDataChannel({ target: instanceId, documentName: SSH_DOCUMENT, parameters: { portNumber: [String(port)] }, reason: options.reason }, aws.connect);
      lifecycle.track(session);
      const outcome = await waitReady(session, (ready) => {
        if (portMode(ready) !== 'stream') {
          throw new SessionError('PROTOCOL', `the agent offered ${ready.sessionType} ${String(ready.properties.type ?? '')} for ${SSH_DOCUMENT}, not a stream`);
        }
        return runStream(session, { stdin: context.stdin, stdout: context.stdout });
      });
      // The agent ends a stream session silently when the destination closes; a reason means it failed.
      if (outcome.closed?.output) throw new SessionError('CONNECTION_LOST', `the session on ${name} ended: ${outcome.closed.output}`);
      return 0;
    });
  } finally {
    aws.destroy();
  }
}
