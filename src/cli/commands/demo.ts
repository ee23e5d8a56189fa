import { spawn } from 'node:child_process';
import { defaultConfig } from '../../emulator/config.js';
import { startEmulator } from '../../emulator/server.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { selfInvocation } from '../self.js';
import { loadPty, PTY_MISSING } from '../../emulator/agent/pty.js';


/**
 * `ssmx demo`: the bundled emulator on a free loopback port, and a real `ssmx shell` against it,
 * configured only through the environment, exactly as a user's AWS settings would be.
 */
export async function demoCommand(context: CliContext): Promise<number> {
  if (!(await loadPty())) throw new UsageError(PTY_MISSING);
  const config = defaultConfig();
  const running = await startEmulator(config);
  const instance = config.instances[0]!;
  context.stderr.write(
    `ssmx demo: emulator on ${running.endpoint}; opening a shell on ${instance.id} (${instance.name}). Type exit to leave.\n`,
  );
  const [program, ...words] = selfInvocation();
  const child = spawn(program!, [...words, 'shell', instance.id], {
    stdio: 'inherit',
    env: {
      ...context.env,
      AWS_ACCESS_KEY_ID: config.accessKeyId,
      AWS_SECRET_ACCESS_KEY: config.secretAccessKey,
      AWS_REGION: config.region,
      AWS_ENDPOINT_URL: running.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
    },
  });
  // The child owns the terminal: keyboard signals are its business, not the demo's.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  const status = await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
  process.off('SIGINT', ignore);
  await running.close();
  return status;
}
