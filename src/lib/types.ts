import type { Duplex, Readable } from 'node:stream';
import type { AwsCredentialProvider, AwsCredentials, AwsRequestHandler } from '../aws/shapes.js';
import type { SsmxError } from '../errors.js';

/**
 * The public types of ssmx as a library (src/lib/index.ts). They name nothing of the AWS SDK or of
 * ssmx's internals, so that their declarations stand alone: a program compiles against them with
 * only @types/node beside.
 */

/**
 * The AWS side of a call: what the command line reads from its flags and the environment. Every
 * field is optional; what is left out comes from `env` as the AWS CLI reads it (AWS_REGION,
 * AWS_PROFILE and the shared files, AWS_ENDPOINT_URL…, the proxy variables).
 */
export interface AwsConfig {
  /** The region; else AWS_REGION, AWS_DEFAULT_REGION, then the profile's. */
  region?: string | undefined;
  /**
   * Credentials, or a provider of them (the SDK's fromIni(), fromSSO()… fit); else the standard
   * chain: the environment's keys, the shared files and `profile`, SSO, process, container and
   * instance roles. A provider is asked again only when what it gave is about to expire.
   */
  credentials?: AwsCredentials | AwsCredentialProvider | undefined;
  /** The shared config profile for the standard chain, the region and endpoints (AWS_PROFILE). */
  profile?: string | undefined;
  /** The endpoint for every AWS API ssmx calls, as AWS_ENDPOINT_URL (the emulator's, a VPC endpoint). */
  endpoint?: string | undefined;
  /**
   * Where the data channel really is (AWS_ENDPOINT_URL_SSMMESSAGES): replaces the scheme, host and
   * port of every StreamUrl the service returns, for a VPC interface endpoint without private DNS.
   */
  ssmmessagesEndpoint?: string | undefined;
  /**
   * An http:// proxy URL for the AWS APIs and the data channel, or `false` for none; when left out,
   * HTTPS_PROXY, HTTP_PROXY and NO_PROXY of `env` apply, as the AWS CLI reads them.
   */
  proxy?: string | false | undefined;
  /**
   * Sends the AWS API requests (not the data channel's WebSocket) in place of ssmx's own HTTP
   * agents: the SDK's NodeHttpHandler fits, or a test's own. It is never destroyed by ssmx.
   */
  requestHandler?: AwsRequestHandler | undefined;
  /** The environment the settings above default from; process.env when left out. */
  env?: Record<string, string | undefined> | undefined;
  /** How long connecting to an AWS endpoint, and then waiting for its answer, may take (60 s each). */
  connectTimeoutMs?: number | undefined;
  readTimeoutMs?: number | undefined;
}

/** What every call takes besides its own options. */
export interface CommonOptions {
  /** The AWS side; see AwsConfig. */
  aws?: AwsConfig | undefined;
  /**
   * One line per AWS call and per data-channel frame, resend and reconnect (sizes and numbers,
   * never payload contents), as `ssmx --debug` prints them.
   */
  debug?: ((line: string) => void) | undefined;
}

/** How a session ended. */
export interface SessionEnd {
  /**
   * The remote command's exit status, when the session document reports one (NonInteractiveCommands
   * with separateOutputStream, as SSMX-RunCommand); null otherwise, and when a signal killed it.
   */
  exitCode: number | null;
  /** The remote command was killed by a signal (the agent does not say which). */
  signaled: boolean;
  /** What the service said as it closed the session, if anything (a refused destination, an error). */
  message: string | undefined;
  /** Ended from this side: terminate(), or the AbortSignal. */
  terminated: boolean;
}

/** A session's own events, besides a Duplex's. */
export interface SessionEvents {
  /** StartSession answered: the session exists on the service, with this id. */
  started: [sessionId: string];
  /** The data channel dropped; ssmx is reopening it (ResumeSession), within reconnectTimeoutMs. */
  reconnecting: [reason: SsmxError];
  /** The data channel is back, after this many milliseconds; nothing was lost. */
  reconnected: [ms: number];
  /** The session is over (the remote ended it, or this side did). */
  ended: [end: SessionEnd];
}

/** The events of a Duplex, typed as a session's are (chunks are Buffers). */
export interface DuplexEvents {
  close: [];
  data: [chunk: Buffer];
  drain: [];
  end: [];
  error: [error: Error];
  finish: [];
  pause: [];
  pipe: [source: Readable];
  readable: [];
  resume: [];
  unpipe: [source: Readable];
}

type Listener<Events, E extends keyof Events> = Events[E] extends unknown[] ? (...args: Events[E]) => void : never;

/** A Duplex with events of its own, typed. */
export interface EventedDuplex<Events> extends Duplex {
  on<E extends keyof (Events & DuplexEvents)>(event: E, listener: Listener<Events & DuplexEvents, E>): this;
  on(event: string | symbol, listener: (...args: unknown[]) => void): this;
  once<E extends keyof (Events & DuplexEvents)>(event: E, listener: Listener<Events & DuplexEvents, E>): this;
  once(event: string | symbol, listener: (...args: unknown[]) => void): this;
  off<E extends keyof (Events & DuplexEvents)>(event: E, listener: Listener<Events & DuplexEvents, E>): this;
  off(event: string | symbol, listener: (...args: unknown[]) => void): this;
}

/**
 * A shell or command session (Standard_Stream, InteractiveCommands, NonInteractiveCommands) as a
 * Duplex: what is written goes to the remote terminal as typed input, what the remote prints is
 * read (stdout, and under a terminal stderr with it). The data channel has no half-close: ending
 * the writable side sends nothing; a shell ends when it exits (`exit`), or with terminate().
 */
export interface Session extends EventedDuplex<SessionEvents> {
  /** The session's id, once `started` has fired. */
  readonly sessionId: string | undefined;
  /**
   * The remote stderr, for documents that keep it apart (NonInteractiveCommands with
   * separateOutputStream, as SSMX-RunCommand); it ends with the session. Like a child process's
   * pipes, what is not read is held, and past 4 MiB held the session stops reading the data channel.
   */
  readonly stderr: Readable;
  /** The remote terminal's size, in characters; sent once the session is ready if it is not yet. */
  resize(cols: number, rows: number): void;
  /** Ends the session on the service (TerminateSession, or the flag where the agent takes it); `ended` follows. */
  terminate(): Promise<void>;
}

export interface SessionOptions extends CommonOptions {
  /** An instance id (i-…, mi-…), an ECS target (ecs:…), a Name tag, or tag:Key=Value (one online match). */
  target: string;
  /** The session document (SSM-SessionManagerRunShell, the account's default shell, when left out). */
  document?: string | undefined;
  /** The document's parameters, as StartSession takes them. */
  parameters?: Record<string, string[]> | undefined;
  /** The reason recorded with the session. */
  reason?: string | undefined;
  /** Aborting ends the session on the service and destroys the stream with an INTERRUPTED SessionError. */
  signal?: AbortSignal | undefined;
  /** How long to keep reopening a dropped data channel (180 s); 0 turns reconnecting off. */
  reconnectTimeoutMs?: number | undefined;
}

/** The events of a connection to a remote port. */
export interface ConnectionEvents {
  started: [sessionId: string];
  reconnecting: [reason: SsmxError];
  reconnected: [ms: number];
}

/**
 * One connection to a port the instance reaches, as a Duplex (a socket without the socket): what
 * is written reaches the destination, what it sends is read. smux v1 has no half-close: ending the
 * writable side closes the connection at the agent's end too (replies already on their way still
 * arrive). When the destination closes, the readable side ends; destroying it ends the session.
 */
export interface Connection extends EventedDuplex<ConnectionEvents> {
  readonly sessionId: string | undefined;
  /** Ends the session on the service; the stream closes. */
  terminate(): Promise<void>;
}

export interface ConnectOptions extends CommonOptions {
  target: string;
  /** A host the instance reaches (AWS-StartPortForwardingSessionToRemoteHost); the instance itself when left out. */
  host?: string | undefined;
  port: number;
  reason?: string | undefined;
  signal?: AbortSignal | undefined;
  reconnectTimeoutMs?: number | undefined;
}

/** A spec as a program writes it: a local port (0, or left out, for any free one) or a Unix socket path, and the destination. */
export interface PortForwardSpec {
  /** A local TCP port, or a path (with a slash in it) for a Unix socket; 0 when left out. */
  local?: number | string | undefined;
  /** The local address to listen on (127.0.0.1 unless the call's `bind` says otherwise). */
  bind?: string | undefined;
  /** A host the instance reaches; the instance itself when left out. */
  host?: string | undefined;
  port: number;
}

export interface ForwardOptions extends CommonOptions {
  target: string;
  /** As `ssmx forward` takes them (`5432`, `0:5432`, `8080:db.internal:5432`, `./pg.sock:5432`), or as objects. */
  specs: Array<string | PortForwardSpec>;
  /** Sessions per spec, connections spread over them (4, as `ssmx forward`). */
  sessions?: number | undefined;
  /** Where listeners bind unless a spec says (127.0.0.1). */
  bind?: string | undefined;
  reason?: string | undefined;
  reconnectTimeoutMs?: number | undefined;
}

/** One listener of a forward, once its sessions are ready. */
export interface ForwardedListener {
  /** The spec as given (an object spec as `ssmx forward` would write it). */
  spec: string;
  /** Where a client connects: `127.0.0.1:PORT`, `[::1]:PORT`, or the socket's path. */
  address: string;
  /** The bound TCP port; null for a Unix socket. */
  port: number | null;
  socketPath: string | null;
  /** The instance id the sessions run on. */
  instanceId: string;
  remoteHost: string | null;
  remotePort: number;
  /** smux over each session, or one connection at a time (agents up to 3.0.196.0). */
  mode: 'multiplexed' | 'basic';
  /** The ids of its sessions now (replacements change them). */
  readonly sessionIds: string[];
}

export interface ForwardEvents {
  /** The agent could not reach the destination for one connection; the forward goes on. */
  'connect-error': [listener: ForwardedListener];
  /** A session ended for a reason of its own; another is being started in its place. */
  replacing: [listener: ForwardedListener, sessionId: string, reason: SsmxError];
  replaced: [listener: ForwardedListener, sessionId: string, replaced: string];
  /** The forward cannot go on (replacements kept failing, the service refused the destination); close() it. */
  error: [error: SsmxError];
}

/** Local listeners, each with its pool of port forwarding sessions. */
export interface Forward {
  /** One per spec, in their order. */
  readonly listening: ForwardedListener[];
  /** Ends every session on the service and closes every listener and connection. */
  close(): Promise<void>;
  on<E extends keyof ForwardEvents>(event: E, listener: (...args: ForwardEvents[E]) => void): this;
  once<E extends keyof ForwardEvents>(event: E, listener: (...args: ForwardEvents[E]) => void): this;
  off<E extends keyof ForwardEvents>(event: E, listener: (...args: ForwardEvents[E]) => void): this;
}

export interface RunOptions extends CommonOptions {
  target: string;
  /**
   * One string is a shell command line, run by `sh -c` (pipes and redirections mean what they say);
   * several words are a program and its arguments, each passed exactly, with no shell.
   */
  command: string | string[];
  reason?: string | undefined;
  signal?: AbortSignal | undefined;
  reconnectTimeoutMs?: number | undefined;
}

/** A command's outcome, as `ssmx run` gets it. */
export interface RunResult {
  sessionId: string;
  stdout: Buffer;
  stderr: Buffer;
  /**
   * The command's exit status; null when none is known: it was killed by a signal (`signaled`),
   * the account lacks SSMX-RunCommand (`combined`), or the session ended before the command did.
   */
  exitCode: number | null;
  signaled: boolean;
  /**
   * The account has no SSMX-RunCommand document (`ssmx setup` creates it): the command ran under
   * AWS-StartNonInteractiveCommand, stderr within stdout and no exit status.
   */
  combined: boolean;
  /** What the service said as it closed the session, if anything. */
  message: string | undefined;
}

/** A command as it runs: its stdout is the session's readable side, its stderr `stderr`. */
export interface RunningCommand extends Session {
  /** Set once started: whether the output is combined (see RunResult). */
  readonly combined: boolean;
}

/** An instance of the emulator to start in-process. */
export interface EmulatorInstance {
  id: string;
  /** Its Name tag. */
  name?: string | undefined;
  tags?: Record<string, string> | undefined;
  platformType?: 'Linux' | 'Windows' | 'MacOS' | undefined;
  /** Online unless said: ConnectionLost or Inactive instances refuse sessions, as the service does. */
  pingStatus?: 'Online' | 'ConnectionLost' | 'Inactive' | undefined;
  /** The version its agent announces (the emulator's own when left out). */
  agentVersion?: string | undefined;
}

export interface EmulatorOptions {
  /** A loopback address (127.0.0.1). */
  host?: string | undefined;
  /** 0 (any free port) when left out. */
  port?: number | undefined;
  region?: string | undefined;
  /** The keys it accepts; fresh random ones when left out, so two emulators never share them. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** One instance, i-0123456789abcdef0 named demo, when left out. */
  instances?: EmulatorInstance[] | undefined;
  /** What every agent announces (3.3.1142.0: smux port forwarding). */
  agentVersion?: string | undefined;
  /** The agent's 1 ms pause after each 1,024-byte message (on). */
  agentPacing?: boolean | undefined;
  /** What the shells' PTY runs, as `sh -c` takes it (bash, or sh). */
  shell?: string | undefined;
  /** Every session KMS-encrypted with this key id. */
  kmsKeyId?: string | undefined;
}

/** The emulator of Session Manager and its agent, serving in this process on loopback. */
export interface Emulator {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  instances: Array<{ id: string; name: string }>;
  /** What to pass as `aws` to reach it: its endpoint, region and keys, and an empty environment. */
  aws: AwsConfig;
  /** Stops it: every session, shell and command it runs, and its port. */
  close(): Promise<void>;
}
