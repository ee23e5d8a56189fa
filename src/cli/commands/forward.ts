import { awsFor } from '../aws-context.js';
import { exposureWarning } from '../../session/listener.js';
import { checkDistinctLocals, ListenerForward } from '../../lib/forward.js';
import { startDataChannel } from '../../lib/open.js';
import { Lifecycle } from '../lifecycle.js';
import type { CliContext, GlobalOptions } from '../context.js';
import { UsageError } from '../errors.js';
import { parsePortSpec } from '../../lib/port-spec.js';
import { startProgress } from '../progress.js';
import { announceReady, clearReadyFile, runInBackground, type ReadyOptions } from '../readiness.js';

export interface ForwardOptions extends GlobalOptions, ReadyOptions {
  /** Detach once every listener is ready (see runInBackground). */
  background?: boolean;
  bind?: string;
  /** Parsed and checked by the command line (1 to 64). */
  sessions?: number;
  json?: boolean;
  reason?: string;
}

export { DEFAULT_SESSIONS } from '../names.js';
import { DEFAULT_SESSIONS } from '../names.js';
export { MAX_EARLY_CONNECTIONS } from '../../lib/forward.js';

/** `ssmx forward <target> <spec…>`: listeners, each with its pool of sessions, until Ctrl-C. */
export async function forwardCommand(target: string, specTexts: string[], options: ForwardOptions, context: CliContext): Promise<number> {
  if (options.background) return runInBackground(process.argv.slice(2), context);
  const poolSize = options.sessions ?? DEFAULT_SESSIONS;
  clearReadyFile(options);
  let unannounce = () => {};
  const aws = awsFor(options, context, target);
  const forwards: ListenerForward[] = [];
  const progress = startProgress(context, `Starting port forwarding to ${target}`, options);
  try {
    const given = specTexts.length > 0 ? specTexts : (aws.alias?.forward ?? []);
    if (given.length === 0) {
      throw new UsageError('no port spec given', 'for example: ssmx forward i-0123456789abcdef0 5432 (or an alias with "forward" specs in the config file)');
    }
    const specs = given.map(parsePortSpec);
    checkDistinctLocals(specs);
    const bind = options.bind ?? '127.0.0.1';
    const say = (line: string) => !options.quiet && context.stderr.write(`${line}\n`);
    const exposed = exposureWarning(bind, 'tunnel');
    if (exposed) say(exposed);
    // Before anything is printed: a script may press Ctrl-C the moment it reads a listener line.
    const lifecycle = new Lifecycle({ signals: context.signals, stopSignals: ['SIGINT', 'SIGTERM', 'SIGHUP'], exitStatus: () => 0 });
    return await lifecycle.run(async () => {
      let fail: (error: Error) => void = () => undefined;
      const failed = new Promise<never>((_, reject) => (fail = reject));
      failed.catch(() => undefined);
      const instanceId = await aws.resolve(target);
      const lines: string[] = [];
      for (const spec of specs) {
        const local = spec.local.kind === 'tcp' ? { kind: 'tcp' as const, host: spec.bind ?? bind, port: spec.local.port } : spec.local;
        const specExposed = spec.bind && exposureWarning(spec.bind, 'tunnel');
        if (specExposed) say(specExposed);
        const forward = await ListenerForward.start({
          spec,
          local,
          instanceId,
          target,
          sessions: poolSize,
          reason: options.reason,
          open: (input) => startDataChannel(input, aws.connect),
          now: () => context.timers.now(),
          track: (session) => lifecycle.track(session),
        });
        forwards.push(forward);
        const address = forward.listening.address;
        forward.on('connect-error', () =>
          say(`ssmx: ${target} could not connect to ${spec.remoteHost ?? 'localhost'}:${spec.remotePort} for a connection on ${address} (the agent reported ConnectToPortError)`),
        );
        forward.on('replacing', (sessionId, why) => say(`ssmx: session ${sessionId} ended (${why.message}); starting another`));
        forward.on('replaced', (sessionId, replaced) => say(`ssmx: session ${sessionId} replaces ${replaced} for ${address}`));
        forward.on('error', fail);
        progress.stop();
        const { mode, sessionIds } = forward;
        const remoteHost = spec.remoteHost && spec.remoteHost.includes(':') ? `[${spec.remoteHost}]` : spec.remoteHost;
        const remote = `${target}:${remoteHost ? `${remoteHost}:` : ''}${spec.remotePort}`;
        // The session ids, for audits and for ending one by hand (aws ssm terminate-session).
        say(`forwarding ${address} -> ${remote}${poolSize > 1 ? ` (${poolSize} sessions, ${mode})` : ` (${mode})`}: ${sessionIds.join(', ')}`);
        const line = JSON.stringify({
          spec: spec.text,
          local: address,
          localPort: forward.listening.port ?? null,
          localSocket: spec.local.kind === 'unix' ? spec.local.path : null,
          target,
          instanceId,
          remoteHost: spec.remoteHost ?? null,
          remotePort: spec.remotePort,
          mode,
          sessions: sessionIds,
        });
        lines.push(line);
        if (options.json) context.stdout.write(`${line}\n`);
      }
      // Every listener is up: a script waiting on a file or a descriptor may go.
      unannounce = announceReady(lines, options);
      // Runs until a stop signal (exit 0) or a session fails.
      return failed;
    });
  } finally {
    progress.stop();
    unannounce();
    await Promise.all(forwards.map((forward) => forward.close()));
    aws.destroy();
  }
}
