import type { Socket } from 'node:net';
import { createSsmClients, type StartedSession } from '../../aws/ssm.js';
import { SessionType } from '../../protocol/constants.js';
import { stringField } from '../../protocol/json.js';
import type { ChannelClosed } from '../../protocol/payloads.js';
import { ReportedClientVersion } from '../../protocol/version.js';
import { SessionError } from '../../session/errors.js';
import { listenLocal, type LocalEnd } from '../../session/listener.js';
import { runShell } from '../../session/shell.js';
import { runStream } from '../../session/stream.js';
import { createTunnel, portMode, type Tunnel } from '../../session/tunnel.js';
import { credentialsFor, type AwsOptions } from '../../aws/client-config.js';
import { endpointFor } from '../../aws/json-api.js';
import { connectOptions, verboseWriter } from '../aws-context.js';
import { openDataChannel, type DataChannelAuth } from '../../lib/open.js';
import { waitReady, type SessionReady } from '../../session/data-channel-session.js';
import { Lifecycle } from '../lifecycle.js';
import { shellIo, useColor, type CliContext, type GlobalOptions } from '../context.js';
import { signalExitCode } from '../exit-codes.js';
import { RESPONSE_ENV_PREFIX, parsePluginArgs, type PluginInvocation } from '../plugin-args.js';
import { renderError } from '../errors.js';

export { PLUGIN_NAME } from '../names.js';
import { PLUGIN_NAME } from '../names.js';

type Start = Extract<PluginInvocation, { kind: 'start' }>;

/** What a session turned out to be, once the agent said (handshake) or the shell spoke. */
type Running = { kind: 'shell' | 'stream'; done: Promise<{ closed?: ChannelClosed; exitCode?: number | undefined }> } | { kind: 'port'; tunnel: Tunnel; ready: SessionReady; ended: Promise<ChannelClosed> };

/**
 * ssmx as `session-manager-plugin`: the official plugin's argument contract and its stdout lines
 * (docs/protocol.md §9), ssmx's engine underneath; an unreachable stream URL fails within the
 * connect timeout instead of hanging.
 *
 * The exit status: a remote command's status never becomes ssmx's here (the official plugin exits
 * 0). The AWS CLI runs the plugin with `check_call`, which prints the plugin's whole command line
 * beside a non-zero status; CLIs that pass the StartSession response as an argument would so print
 * the session token into terminals and CI logs. When the response came on the command line, ssmx
 * says what failed on stderr and exits 0, as the official plugin does; when it came through the
 * environment (newer CLIs print only the variable's name), a failure keeps its status.
 */
export async function pluginCommand(args: string[], context: CliContext): Promise<number> {
  const tokenInArguments = args.length >= 4 && !args[0]!.startsWith(RESPONSE_ENV_PREFIX);
  let status: number;
  try {
    status = await plugin(args, context);
  } catch (error) {
    status = renderError(error, context.stderr, useColor(context, {}));
  }
  return tokenInArguments ? 0 : status;
}

async function plugin(args: string[], context: CliContext): Promise<number> {
  const invocation = parsePluginArgs(args, context.env);
  if (invocation.kind === 'installed') {
    context.stdout.write(`\nssmx is installed as ${PLUGIN_NAME}. Use the AWS CLI to start a session (aws ssm start-session, aws ecs execute-command).\n\n`);
    return 0;
  }
  if (invocation.kind === 'version') {
    // Only the dotted number: the AWS CLI compares it to decide how to pass the response.
    context.stdout.write(`${ReportedClientVersion}\n`);
    return 0;
  }
  // Older AWS CLIs pass the response, token and all, as an argument: anyone on the machine could
  // read it in the process list. The title replaces the arguments there (Linux, macOS).
  process.title = PLUGIN_NAME;
  if (invocation.responseEnvName) {
    // The response holds the session token: it is not left for child processes (the remote shell's
    // local helpers, an editor) to inherit.
    delete context.env[invocation.responseEnvName];
    if (context.env !== process.env) delete process.env[invocation.responseEnvName];
  }
  return runStartSession(invocation, context);
}

async function runStartSession(invocation: Start, context: CliContext): Promise<number> {
  const { response } = invocation;
  // The plugin honours the proxy variables, as the official one does (Go's ProxyFromEnvironment).
  const api = { region: invocation.region, profile: invocation.profile, endpointUrl: invocation.endpointUrl, env: context.env };
  const client = createSsmClients(api);
  const say = (text: string) => context.stdout.write(text);
  let port = false;
  // The AWS CLI ignores the keyboard's signals while the plugin runs; a tunnel ends on them, a shell sends them on.
  const lifecycle = new Lifecycle({
    signals: context.signals,
    stopSignals: ['SIGTERM', 'SIGHUP'],
    onStop: () => port && say('Terminate signal received, exiting.\n'),
    exitStatus: (signal) => (port ? (say(exitLine(response.sessionId, undefined)), 0) : signalExitCode(signal)),
  });
  try {
    return await lifecycle.run(async () => {
      // The legacy 4-argument form cannot do KMS (the plugin refuses it too); otherwise the target
      // from the request parameters names the encryption context. KMS uses its own endpoint (the
      // argument is SSM's), as the plugin does (docs/protocol.md §5).
      const kms = invocation.legacy ? undefined : { region: invocation.region, profile: invocation.profile, env: context.env };
      // The AWS CLI passes no flags: SSMX_VERBOSE=1 (or debug) stands for -v (or --debug).
      const options: GlobalOptions = { verbose: !!context.env.SSMX_VERBOSE, debug: context.env.SSMX_VERBOSE === 'debug' };
      const auth = pluginAuth(api, invocation.region, context, verboseWriter(options, context));
      const session = lifecycle.track(await openDataChannel(response, connectOptions(client, auth, options, context, kms, api), invocation.request.target));
      const running = await waitReady<Running>(session, (ready) => {
        if (ready.sessionType === SessionType.Port) {
          if (portMode(ready) === 'stream') {
            // ssh reads this stdout as its connection: nothing but the stream goes there.
            return { kind: 'stream', done: runStream(session, { stdin: context.stdin, stdout: context.stdout }) };
          }
          const tunnel = createTunnel(session, ready);
          const ended = new Promise<ChannelClosed>((resolve, reject) => {
            tunnel.once('closed', resolve);
            tunnel.once('error', reject);
          });
          ended.catch(() => undefined);
          return { kind: 'port', tunnel, ready, ended };
        }
        say(`\nStarting session with SessionId: ${response.sessionId}\n`);
        return { kind: 'shell', done: runShell(session, shellIo(context)) };
      });
      if (running.kind === 'port') {
        port = true;
        say(`\nStarting session with SessionId: ${response.sessionId}\n`);
        lifecycle.alsoStopOn(['SIGINT', 'SIGQUIT', 'SIGTSTP']);
        return await forwardPort(running, response, context);
      }
      if (running.kind === 'stream') lifecycle.alsoStopOn(['SIGINT']);
      const outcome = await running.done;
      if (running.kind === 'shell') say(exitLine(response.sessionId, outcome.closed));
      // The remote command's status is not the plugin's (see pluginCommand).
      return 0;
    });
  } finally {
    client.destroy();
  }
}

/**
 * The plugin signs the data channel with the credentials of the profile the AWS CLI names and the
 * usual chain; where it finds none it connects unsigned and logs it, and
 * SSM_PLUGIN_SKIP_CLIENT_CONFIGURE=true skips its credentials altogether (plugin 1.2.835.0,
 * sessionhandler.go OpenDataChannel, websocketchannel.go). ssmx does the same, saying so under
 * SSMX_VERBOSE.
 */
function pluginAuth(api: AwsOptions, region: string, context: CliContext, verbose: ((line: string) => void) | undefined): DataChannelAuth {
  const env = context.env;
  const skip = env.SSM_PLUGIN_SKIP_CLIENT_CONFIGURE === 'true';
  if (skip) verbose?.('SSM_PLUGIN_SKIP_CLIENT_CONFIGURE=true: the data channel is opened unsigned, as the plugin does');
  return {
    region: () => region,
    namedEndpoints: () => [endpointFor(api, 'ssm', region, env)],
    credentials: skip
      ? undefined
      : async () => {
          try {
            return await credentialsFor(api)();
          } catch (error) {
            verbose?.(`no AWS credentials to sign the data channel with (${(error as Error).message}); opening it unsigned, as the plugin does`);
            return undefined;
          }
        },
  };
}

function exitLine(sessionId: string, closed: ChannelClosed | undefined): string {
  return closed?.output ? `\n\nSessionId: ${sessionId} : ${closed.output}\n\n` : `\n\nExiting session with sessionId: ${sessionId}.\n\n`;
}

/** A port forwarding session (one session, started by the AWS CLI): listen where the document says, until it ends. */
async function forwardPort({ tunnel, ready, ended }: Extract<Running, { kind: 'port' }>, response: StartedSession, context: CliContext): Promise<number> {
  const say = (text: string) => context.stdout.write(text);
  const multiplexed = portMode(ready) === 'multiplexed';
  const unixSocket = stringField(ready.properties, 'localUnixSocket');
  const portText = stringField(ready.properties, 'localPortNumber') ?? '';
  const port = portText === '' ? 0 : Number(portText);
  if (!unixSocket && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    tunnel.end();
    throw new SessionError('PROTOCOL', `the session's localPortNumber "${portText}" is not a port`);
  }
  const local: LocalEnd = unixSocket ? { kind: 'unix', path: unixSocket } : { kind: 'tcp', host: '127.0.0.1', port };
  let accepted = 0;
  const listening = await listenLocal(local, (socket: Socket) => {
    accepted += 1;
    if (!multiplexed) say(`Connection accepted for session ${response.sessionId}.\n`);
    else if (accepted === 1) say(`\nConnection accepted for session [${response.sessionId}]\n`);
    tunnel.attach(socket);
  });
  try {
    const where = unixSocket ? `Unix socket ${unixSocket}` : `Port ${listening.port}`;
    say(multiplexed ? `${where} opened for sessionId ${response.sessionId}.\nWaiting for connections...\n` : `${where} opened for sessionId ${response.sessionId}.\n`);
    tunnel.on('connect-error', () => context.stderr.write('ssmx: the agent could not connect to the destination port for a connection (ConnectToPortError)\n'));
    say(exitLine(response.sessionId, await ended));
    return 0;
  } finally {
    // The session is over: local connections go too (a half-closed one would keep the listener's
    // close waiting, with nothing left to wake it).
    tunnel.end();
    await listening.close();
  }
}
