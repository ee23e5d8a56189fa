import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis.js';
import { requireTool } from './tools.js';

export interface Sshd {
  port: number;
  user: string;
  /** ssh options that trust this server's generated host key and log in with the generated user key. */
  clientOptions: string[];
  dir: string;
  stop(): Promise<void>;
}

/**
 * A real OpenSSH server on a free loopback port: a generated host key, a generated user key that is
 * the only way in, no PAM, its own config and pid file. Runs as whoever runs the tests.
 */
export async function startSshd(): Promise<Sshd> {
  const [sshd, keygen] = [requireTool('sshd'), requireTool('ssh-keygen')];
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-sshd-'));
  const port = await freePort();
  const user = userInfo().username;
  const hostKey = join(dir, 'host_ed25519');
  const userKey = join(dir, 'user_ed25519');
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ssmx-test-host', '-f', hostKey]);
  execFileSync(keygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'ssmx-test-user', '-f', userKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`), { mode: 0o600 });
  // Trust exactly this host key, under the alias every test connects with.
  writeFileSync(join(dir, 'known_hosts'), `ssmx-test-host ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // Run as root, sshd wants its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (data: Buffer) => (log += data.toString()));
  await waitForPort(port, child, () => log);
  return {
    port,
    user,
    dir,
    clientOptions: [
      '-F', '/dev/null',
      '-i', userKey,
      '-o', 'IdentitiesOnly=yes',
      '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'HostKeyAlias=ssmx-test-host',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes',
      '-o', 'LogLevel=ERROR',
    ],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sshd exited with ${child.exitCode}: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on ${port} within 10 s: ${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
