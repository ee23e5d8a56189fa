import { randomUUID } from 'node:crypto';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { proxyAgents, type AwsOptions } from '../aws/client-config.js';
import { createSsmClients, type SsmClients } from '../aws/ssm.js';
import { createEc2Client, isDirectTarget, listManagedInstances, resolveTarget, type ManagedInstance, type TargetClients } from '../aws/targets.js';
import { DEFAULT_RECONNECT_TIMEOUT_MS } from '../session/data-channel-session.js';
import { dataChannelAuth, type ConnectOptions, type DataChannelAuth } from '../lib/open.js';
import { loadSsmxConfig, type Alias } from './config-file.js';
import { proxyChoice, useColor, type CliContext, type GlobalOptions } from './context.js';
import { UsageError } from './errors.js';
import { canPick, pick } from './picker.js';
import { startProgress } from './progress.js';
import { formatTable } from './table.js';
import { instanceTable } from './instance-columns.js';

export interface CommandAws {
  options: AwsOptions;
  ssm: SsmClients;
  /** The target made an instance id: alias, Name tag, tag:Key=Value, or the picker when none. */
  resolve(target: string | undefined): Promise<string>;
  targets(): TargetClients;
  /** The alias the target named, if it named one. */
  alias: Alias | undefined;
  say(line: string): void;
  /** What opening a session needs: the SSM client, reconnects and their notices, KMS, --debug. */
  connect: ConnectOptions;
  destroy(): void;
}

/** --reconnect-timeout (seconds, checked as the command line is read), as milliseconds. */
export function reconnectTimeoutMs(options: GlobalOptions): number {
  return options.reconnectTimeout === undefined ? DEFAULT_RECONNECT_TIMEOUT_MS : options.reconnectTimeout * 1000;
}

/** One client id for every session of this process, as the plugin keeps one (docs/protocol.md §1). */
const processClientId = randomUUID();

/**
 * How sessions are opened for a command: reconnects bounded by --reconnect-timeout, their notices
 * on a line of their own (also in a raw terminal, which does no output processing), and the wire
 * under --debug.
 */
export function connectOptions(ssm: SsmClients, auth: DataChannelAuth, options: GlobalOptions, context: CliContext, kms?: AwsOptions, network?: AwsOptions): ConnectOptions {
  const tty = context.stderrIsTTY;
  const debug = debugWriter(options, context);
  const notice = (line: string) => {
    if (!options.quiet) context.stderr.write(tty ? `\r\n${line}\r\n` : `${line}\n`);
  };
  return {
    ssm,
    auth,
    clientId: processClientId,
    // The data channel goes the way the API calls go: the same proxy choice, per address.
    ...(network ? { agents: proxyAgents(network, 'stream') } : {}),
    streamEndpoint: options.ssmmessagesEndpoint || context.env.AWS_ENDPOINT_URL_SSMMESSAGES || undefined,
    reconnectTimeoutMs: reconnectTimeoutMs(options),
    kms,
    reconnects: {
      reconnecting: (reason) => notice(`ssmx: the connection dropped (${reason.message}); reconnecting…`),
      resumed: (ms) => notice(`ssmx: reconnected after ${(ms / 1000).toFixed(1)} s`),
    },
    debug: debug && ((line) => debug(tty ? `${line}\r` : line)),
    timers: context.timers,
  };
}


/** What ssmx does (aliases, target lookups), for -v and --debug. */
export function verboseWriter(options: GlobalOptions, context: CliContext): ((line: string) => void) | undefined {
  if (!options.debug && !options.verbose) return undefined;
  return (line) => context.stderr.write(`ssmx: ${line}\n`);
}

/** Every AWS call and every frame, for --debug only. */
export function debugWriter(options: GlobalOptions, context: CliContext): ((line: string) => void) | undefined {
  if (!options.debug) return undefined;
  return (line) => context.stderr.write(`ssmx: debug: ${line}\n`);
}

/**
 * The AWS side of a command: options from flags, then the alias the target names, then the config
 * file; clients made once; the MFA prompt and the target picker on a terminal.
 */
export function awsFor(options: GlobalOptions, context: CliContext, target?: string): CommandAws {
  const config = loadSsmxConfig(context.env);
  // A misspelt setting is otherwise silently ignored.
  for (const line of config.unknownKeys ?? []) if (!options.quiet) context.stderr.write(`ssmx: warning: config file: ${line}\n`);
  const alias = target !== undefined ? config.aliases[target] : undefined;
  const verbose = verboseWriter(options, context);
  const aws: AwsOptions = {
    region: options.region ?? alias?.region ?? config.region,
    profile: options.profile ?? alias?.profile ?? config.profile,
    endpointUrl: options.endpointUrl ?? config.endpointUrl,
    mfaCodeProvider: (serial) => askMfaCodeOnce(serial, context),
    debug: debugWriter(options, context),
    env: context.env,
    connectTimeoutMs: options.connectTimeout !== undefined ? options.connectTimeout * 1000 : undefined,
    readTimeoutMs: options.readTimeout !== undefined ? options.readTimeout * 1000 : undefined,
    proxy: proxyChoice(options),
  };
  if (alias) verbose?.(`${target} is an alias of ${alias.target}${alias.profile ? `, profile ${alias.profile}` : ''}${alias.region ? `, region ${alias.region}` : ''}`);
  const ssm = createSsmClients(aws);
  let ec2: Promise<EC2Client> | undefined;
  const targets = (): TargetClients => ({ ssm: ssm.session, ec2: () => (ec2 ??= createEc2Client(aws)), debug: verbose });
  const color = useColor(context, options);
  const io = { stdin: context.stdin, stderr: context.stderr, color };
  const choose = async (instances: ManagedInstance[], question: string) => {
    const rows = formatTable(instanceTable(instances));
    return instances[await pick(rows.slice(1), question, rows[0], io)]!;
  };
  return {
    options: aws,
    ssm,
    alias,
    targets,
    say: (line) => !options.quiet && context.stderr.write(`${line}\n`),
    connect: connectOptions(ssm, dataChannelAuth(aws), options, context, aws, aws),
    async resolve(given) {
      const wanted = alias?.target ?? given;
      if (wanted !== undefined && isDirectTarget(wanted)) return wanted;
      // A spinner while AWS is asked; it makes way for the picker, which shares the terminal.
      const progress = startProgress(context, wanted === undefined ? 'Listing managed instances' : `Looking up ${wanted}`, options);
      const pickAfterProgress = async (instances: ManagedInstance[], question: string) => {
        progress.stop();
        return choose(instances, question);
      };
      try {
        if (wanted === undefined) {
          if (!canPick(context)) throw new UsageError('no target given', 'give an instance id, a Name tag or tag:Key=Value (ssmx list shows them)');
          const all = await listManagedInstances(targets());
          if (all.length === 0) throw new UsageError('no managed instances to pick from in this account and region', 'check --profile and --region');
          return (await pickAfterProgress(all, 'Pick an instance')).id;
        }
        const id = await resolveTarget(targets(), wanted, canPick(context) ? pickAfterProgress : undefined);
        verbose?.(`${wanted} is ${id}`);
        return id;
      } finally {
        progress.stop();
      }
    },
    destroy() {
      ssm.destroy();
      void ec2?.then((client) => client.destroy(), () => undefined);
    },
  };
}

/**
 * The code of an MFA device, asked for on the terminal (assume-role profiles with mfa_serial). When
 * stdin is not the terminal (ssh's ProxyCommand, piped input), it is asked on the controlling
 * terminal, as ssh asks for a password.
 */
/**
 * One question at a time per device and run: two clients resolving credentials at once share the
 * answer. Kept per context (a run of a command), not for the whole process.
 */
const questions = new WeakMap<CliContext, Map<string, Promise<string>>>();
function askMfaCodeOnce(serial: string, context: CliContext): Promise<string> {
  let askingFor = questions.get(context);
  if (!askingFor) questions.set(context, (askingFor = new Map()));
  let asking = askingFor.get(serial);
  if (!asking) {
    asking = askMfaCode(serial, context).finally(() => askingFor.delete(serial));
    askingFor.set(serial, asking);
  }
  return asking;
}

async function askMfaCode(serial: string, context: CliContext): Promise<string> {
  const terminal = context.stdinIsTTY ? { input: context.stdin, output: context.stderr, close: () => undefined } : context.openTerminal();
  if (!terminal) {
    throw new UsageError(`the profile needs an MFA code for ${serial}, and there is no terminal to ask on`, 'run ssmx at a terminal, or use credentials that need no MFA code');
  }
  context.spinners.stopAll();
  // Loaded when asked: node:readline costs every other start some milliseconds (issue 13).
  const { createInterface } = await import('node:readline');
  const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
  try {
    const code = await new Promise<string>((resolve) => rl.question(`MFA code for ${serial}: `, resolve));
    return code.trim();
  } finally {
    rl.close();
    terminal.close();
  }
}
