import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';
import { requireTool } from './tools.js';

export interface HttpProxy {
  port: number;
  url: string;
  /** Its log: a `Request … CONNECT host:port` line for each tunnel opened. */
  log(): string;
  connects(): string[];
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`, which cuts every tunnel). */
  restart(): Promise<void>;
}

/**
 * A real HTTP proxy on loopback: tinyproxy in the foreground with a config of the test's own. With
 * `credentials` it asks for them (407 without); with `refuse` it answers every client 403.
 */
export async function startHttpProxy(options: { credentials?: string; refuse?: boolean } = {}): Promise<HttpProxy> {
  const tinyproxy = requireTool('tinyproxy');
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-tinyproxy-'));
  // tinyproxy drops to nobody; its log must be writable then.
  chmodSync(dir, 0o777);
  const port = await freePort();
  const logFile = join(dir, 'tinyproxy.log');
  const config = join(dir, 'tinyproxy.conf');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'Listen 127.0.0.1',
      'Timeout 600',
      `LogFile "${logFile}"`,
      'LogLevel Connect',
      'MaxClients 200',
      // No ConnectPort line: CONNECT to any port (the emulator's is not 443).
      options.refuse ? 'Allow 192.0.2.1' : 'Allow 127.0.0.1',
      ...(options.credentials ? [`BasicAuth ${options.credentials.replace(':', ' ')}`] : []),
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn(tinyproxy, ['-d', '-c', config], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      });
      if (up) return;
      if (Date.now() > deadline) throw new Error('tinyproxy did not start within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log,
    connects: () => [...log().matchAll(/Request \(file descriptor \d+\): CONNECT (\S+)/g)].map((match) => match[1]!),
    stop,
    restart: start,
  };
}
