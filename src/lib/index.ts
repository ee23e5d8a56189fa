/**
 * ssmx as a library: AWS Session Manager from a Node program, through the same code as the
 * `ssmx` command — StartSession, the data channel with its acknowledgements, retransmission,
 * reconnects and KMS encryption, port forwarding over smux — with no session-manager-plugin.
 *
 * Every call takes its AWS side in `aws` (AwsConfig) and keeps its own clients: nothing is
 * shared between calls or read from the process but `aws.env` (process.env by default), so two
 * sessions with different credentials, to two accounts or two emulators, live side by side.
 * Failures are SsmxError subclasses with a stable `code`; nothing here exits the process or
 * writes to its stdout or stderr. docs/library.md has runnable examples.
 *
 * @packageDocumentation
 */
import { RemoteConnection, openConnection } from './connect.js';
import { RemoteSession, type Opener } from './session.js';
import type { LibraryClient } from './client.js';
import type {
  CommonOptions,
  Connection,
  ConnectOptions,
  Emulator,
  EmulatorOptions,
  Forward,
  ForwardOptions,
  RunningCommand,
  RunOptions,
  RunResult,
  Session,
  SessionEnd,
  SessionOptions,
} from './types.js';
import type { ManagedInstance } from '../aws/shapes.js';

export { SsmxError, UsageError } from '../errors.js';
export { AwsError, type AwsErrorKind } from '../aws/errors.js';
export { SessionError, type SessionErrorCode } from '../session/errors.js';
export { TransportError, type TransportErrorCode } from '../transport/errors.js';
export { ProtocolError, type ProtocolErrorCode } from '../protocol/errors.js';
export type { AwsCredentialProvider, AwsCredentials, AwsHttpRequest, AwsHttpResponse, AwsRequestHandler, ManagedInstance } from '../aws/shapes.js';
export type * from './types.js';

type Start = typeof import('./start.js');

/**
 * A client of the call's own, made when its first session opens (the code that opens sessions
 * loads then too), and let go once the call is over.
 */
function lazyClient(options: CommonOptions & { reconnectTimeoutMs?: number | undefined }): { load(): Promise<{ start: Start; client: LibraryClient }>; release(): void } {
  let client: LibraryClient | undefined;
  let released = false;
  return {
    async load() {
      const start = await import('./start.js');
      if (released) throw new Error('the call was already over');
      client ??= new start.LibraryClient(options);
      return { start, client };
    },
    release() {
      released = true;
      client?.destroy();
    },
  };
}

/**
 * Opens a shell or command session on an instance: a Node Duplex of the remote terminal (write
 * keystrokes, read what it shows), returned at once and usable before the session is up (writes
 * wait for it). Its document is the account's default shell unless `document` names another
 * (AWS-StartInteractiveCommand, AWS-StartNonInteractiveCommand, SSMX-RunCommand…).
 *
 * Events: `started` (the session id), `reconnecting`, `reconnected`, `ended` (a SessionEnd, with
 * the remote exit status where the document gives one), then the readable side's `end`. Failures
 * destroy the stream with an SsmxError. `terminate()`, `destroy()` and the AbortSignal end the
 * session on the service.
 *
 * @example
 * ```ts
 * const shell = openSession({ target: 'i-0123456789abcdef0', aws: { region: 'eu-west-1' } });
 * shell.pipe(process.stdout);
 * shell.write('uname -a; exit\n');
 * shell.on('ended', ({ exitCode }) => console.log('ended', exitCode));
 * ```
 */
export function openSession(options: SessionOptions): Session {
  const lazy = lazyClient(options);
  const opener: Opener = async (started) => {
    const { start, client } = await lazy.load();
    return start.openSessionChannel(client, options, started);
  };
  return new RemoteSession(opener, { signal: options.signal, release: lazy.release }) as unknown as Session;
}

/**
 * Runs a command as `ssmx run` does and streams it: the session's readable side is its stdout,
 * `stderr` its stderr, and `ended` carries its exit status. Under the account's SSMX-RunCommand
 * document (`ssmx setup` creates it) the agent keeps the two apart and reports the status; without
 * it the command runs under AWS-StartNonInteractiveCommand, `combined` true, with no status.
 * The agent gives a non-interactive command no stdin: what is written is not read by it.
 */
export function runStream(options: RunOptions): RunningCommand {
  const lazy = lazyClient(options);
  let combined = false;
  const opener: Opener = async (started) => {
    const { start, client } = await lazy.load();
    return start.openRunChannel(client, options, started, () => (combined = true));
  };
  const session = new RemoteSession(opener, { signal: options.signal, release: lazy.release });
  Object.defineProperty(session, 'combined', { get: () => combined, enumerable: true });
  return session as unknown as RunningCommand;
}

/**
 * Runs a command and collects its output: stdout and stderr apart, and its exit status, as
 * `ssmx run` gets them (see runStream). One string is a shell command line (`sh -c`); several
 * words are a program and its arguments, passed exactly. Rejects with an SsmxError when the
 * session cannot start or fails; a command that fails resolves, with its status.
 *
 * The fleet form (`--targets`, Run Command) is not here yet.
 *
 * @example
 * ```ts
 * const { stdout, exitCode } = await run({ target: 'web-1', command: 'df -h / | tail -1' });
 * ```
 */
export function run(options: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const command = runStream(options);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let end: SessionEnd | undefined;
    let streams = 2;
    // Resolved once the session is over and both streams were read to their end.
    const settle = () => {
      if (streams > 0 || !end) return;
      resolve({ sessionId: command.sessionId!, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode: end.exitCode, signaled: end.signaled, combined: command.combined, message: end.message });
    };
    command.on('data', (chunk) => stdout.push(chunk));
    command.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    command.once('ended', (ended) => {
      end = ended;
      settle();
    });
    for (const stream of [command, command.stderr]) {
      stream.once('end', () => {
        streams -= 1;
        settle();
      });
    }
    command.once('error', reject);
  });
}

/**
 * One connection to a port on the instance (or to `host:port` that the instance reaches, through
 * AWS-StartPortForwardingSessionToRemoteHost), as a Duplex with no local listener: what a test
 * harness or a database driver wants. One port forwarding session carries it (smux where the
 * agent is newer than 3.0.196.0); it ends when the stream does.
 *
 * @example
 * ```ts
 * const db = connect({ target: 'db-1', port: 5432 });
 * db.write(startupMessage);
 * db.on('data', (chunk) => …);
 * ```
 */
export function connect(options: ConnectOptions): Connection {
  const lazy = lazyClient(options);
  const connection: RemoteConnection = openConnection(
    options,
    async (started) => {
      const { start, client } = await lazy.load();
      return start.openPortChannel(client, options, started);
    },
    lazy.release,
  );
  return connection as unknown as Connection;
}

/**
 * Listens locally and forwards each connection to a port the instance reaches, as `ssmx forward`
 * does: each spec its own listener and pool of `sessions` sessions, connections made before the
 * first session is up held for it, a session that ends replaced. Resolves once every listener is
 * bound and its sessions ready; `listening` gives their addresses (a port of 0 picks a free one).
 *
 * @example
 * ```ts
 * const tunnel = await forward({ target: 'db-1', specs: ['0:5432'], sessions: 1 });
 * const port = tunnel.listening[0].port;
 * …
 * await tunnel.close();
 * ```
 */
export async function forward(options: ForwardOptions): Promise<Forward> {
  const lazy = lazyClient(options);
  const { start, client } = await lazy.load();
  try {
    return await start.startForward(client, options);
  } catch (error) {
    lazy.release();
    throw error;
  }
}

/**
 * A target made an instance id, as every session call makes it: an instance id (i-…, mi-…) or an
 * ECS target as it is, a Name tag or `tag:Key=Value` that must match exactly one online managed
 * instance (through EC2 DescribeInstances and SSM DescribeInstanceInformation). Several, or none
 * online, is an AwsError of kind `target` saying which.
 */
export async function resolveTarget(target: string, options: CommonOptions = {}): Promise<string> {
  const lazy = lazyClient(options);
  try {
    return await (await lazy.load()).client.resolve(target);
  } finally {
    lazy.release();
  }
}

/** Every managed instance of the account and region, with its name, address and ping status (`ssmx list`). */
export async function listInstances(options: CommonOptions = {}): Promise<ManagedInstance[]> {
  const lazy = lazyClient(options);
  try {
    const { client } = await lazy.load();
    const { listManagedInstances } = await import('../aws/targets.js');
    return await listManagedInstances(client.targets());
  } finally {
    lazy.release();
  }
}

/**
 * Makes the account's SSMX-RunCommand session document, under which run() gets stdout and stderr
 * apart and the exit status, as `ssmx setup` does: created when missing, brought up to date when
 * it says something else (a new default version), else left alone. Once per account and region.
 */
export async function setup(options: CommonOptions = {}): Promise<'created' | 'updated' | 'unchanged'> {
  const lazy = lazyClient(options);
  try {
    const { client } = await lazy.load();
    const { ensureRunDocument } = await import('./setup.js');
    return (await ensureRunDocument(client.ssm)).kind;
  } finally {
    lazy.release();
  }
}

/**
 * Starts the emulator of Session Manager and its agent in this process, on loopback, as `ssmx
 * emulator` does: the SigV4-checked SSM API and the data-channel gateway, with real shells in a
 * PTY (node-pty, an optional dependency), port forwarding and commands. Pass its `aws` to any
 * call here; `close()` stops it.
 *
 * @example
 * ```ts
 * const emulator = await startEmulator();
 * const { stdout } = await run({ target: emulator.instances[0].id, command: 'echo hi', aws: emulator.aws });
 * await emulator.close();
 * ```
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const { startEmulatorServer } = await import('./emulator.js');
  return startEmulatorServer(options);
}
