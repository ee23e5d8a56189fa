import { PassThrough } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { CliContext } from '../../src/cli/context.js';
import type { SignalSource } from '../../src/session/signals.js';
import { defaultConfig, type EmulatorConfig } from '../../src/emulator/config.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';

/** Signals a test sends by hand: `send('SIGINT')` reaches whoever listens through the context. */
export class FakeSignals implements SignalSource {
  private readonly handlers = new Set<{ signals: readonly NodeJS.Signals[]; handler: (signal: NodeJS.Signals) => void }>();

  on(signals: readonly NodeJS.Signals[], handler: (signal: NodeJS.Signals) => void): () => void {
    const entry = { signals, handler };
    this.handlers.add(entry);
    return () => this.handlers.delete(entry);
  }

  send(signal: NodeJS.Signals): void {
    for (const { signals, handler } of [...this.handlers]) if (signals.includes(signal)) handler(signal);
  }

  get listening(): number {
    return this.handlers.size;
  }
}

export interface CliRun {
  status: number;
  stdout: string;
  stderr: string;
}

export interface InProcessCli {
  /** Resolves with the exit status and everything written, once the command returns. */
  result: Promise<CliRun>;
  stdin: PassThrough;
  signals: FakeSignals;
  /** Everything written to stdout so far. */
  stdout(): string;
  stderr(): string;
}

/**
 * Runs `ssmx <args>` inside the test's process, as the binary would, with test streams (not
 * terminals unless `tty` says so), the given environment and fake signals. Nothing is spawned.
 */
export function ssmxInProcess(args: string[], env: NodeJS.ProcessEnv, options: { tty?: boolean; stdin?: string } = {}): InProcessCli {
  const stdin = new PassThrough();
  if (options.stdin !== undefined) stdin.end(options.stdin);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (data: Buffer) => (out += data.toString()));
  stderr.on('data', (data: Buffer) => (err += data.toString()));
  const signals = new FakeSignals();
  const tty = options.tty ?? false;
  const context: Partial<CliContext> = {
    stdin,
    stdout,
    stderr,
    stdinIsTTY: tty,
    stdoutIsTTY: tty,
    stderrIsTTY: tty,
    env,
    signals,
    openTerminal: () => undefined,
  };
  const result = main(['node', 'ssmx', ...args], context).then((status) => ({ status, stdout: out, stderr: err }));
  return { result, stdin, signals, stdout: () => out, stderr: () => err };
}

export const runInProcess = (args: string[], env: NodeJS.ProcessEnv, options: { tty?: boolean; stdin?: string } = {}): Promise<CliRun> =>
  ssmxInProcess(args, env, options).result;

/** The emulator inside the test's process, and the environment a command needs to reach it. */
export async function inProcessEmulator(change: (config: EmulatorConfig) => void = () => undefined): Promise<{ emulator: RunningEmulator; env: NodeJS.ProcessEnv; config: EmulatorConfig }> {
  const config = defaultConfig();
  change(config);
  const emulator = await startEmulator(config);
  return { emulator, config, env: testEnv({ AWS_ACCESS_KEY_ID: config.accessKeyId, AWS_SECRET_ACCESS_KEY: config.secretAccessKey, AWS_REGION: config.region, AWS_ENDPOINT_URL: emulator.endpoint }) };
}

/** An environment that can reach nothing real: no AWS keys, files or instance metadata but those given. */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: '/nonexistent',
    XDG_CONFIG_HOME: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    NO_COLOR: '1',
    ...extra,
  };
}
