import { spawn, type ChildProcess } from 'node:child_process';
import { SSMClient } from '@aws-sdk/client-ssm';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const ssmxBin = `${repoRoot}bin/ssmx`;

export interface EmulatorInfo {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  instances: Array<{ id: string; name: string }>;
}

export interface EmulatorProcess {
  info: EmulatorInfo;
  /** The environment a client needs: credentials, region, endpoint; never a real AWS endpoint. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
  /** Kills it outright, as a network cut or a crash would end it. */
  kill(): void;
  /** The JSON lines it printed after its ready line (`--events`), in order. */
  events(): Array<Record<string, unknown>>;
}

/** A clean environment for clients under test: nothing that could reach real AWS or the IMDS. */
export function isolatedEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('AWS_')) env[key] = value;
  }
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    NO_COLOR: '1',
    ...extra,
  };
}

/** Starts `ssmx emulator --port 0 …` and reads its one JSON line. */
export async function startEmulatorProcess(args: string[] = []): Promise<EmulatorProcess> {
  const child: ChildProcess = spawn(process.execPath, [ssmxBin, 'emulator', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: isolatedEnv(),
  });
  const lines = createInterface({ input: child.stdout! });
  const events: Array<Record<string, unknown>> = [];
  const info = await new Promise<EmulatorInfo>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('emulator did not report ready within 10 s')), 10_000);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line) as EmulatorInfo);
      lines.on('line', (event) => events.push(JSON.parse(event) as Record<string, unknown>));
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code} before it was ready`)));
  });
  return {
    info,
    env: isolatedEnv({
      AWS_ACCESS_KEY_ID: info.accessKeyId,
      AWS_SECRET_ACCESS_KEY: info.secretAccessKey,
      AWS_REGION: info.region,
      AWS_ENDPOINT_URL: info.endpoint,
    }),
    kill: () => child.kill('SIGKILL'),
    events: () => events,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Processes of this machine (the emulated instance) whose command line names `text`, ssmx itself aside. */
export function processesNaming(text: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const line = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
      if (line.includes(text) && !line.includes(ssmxBin)) found.push(`${pid}: ${line}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** An SDK client of the emulator's SSM API, with its own keys (destroy it when done). */
export function ssmClientFor(emulator: EmulatorProcess): SSMClient {
  const { info } = emulator;
  return new SSMClient({ region: info.region, endpoint: info.endpoint, credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey } });
}
