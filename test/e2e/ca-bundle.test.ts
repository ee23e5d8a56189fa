// @module-tag needs-openssl
// @module-tag needs-node-pty
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulatorProcess, ssmxBin, type EmulatorProcess } from '../support/emulator.js';
import { runProgram } from '../support/run.js';

// Issue 14: a private certificate authority, as a company's or a VPC endpoint's: the emulator
// serves HTTPS and wss:// with a certificate it signed, and ssmx trusts it through AWS_CA_BUNDLE
// or the profile's ca_bundle, as the AWS CLI does.

const TARGET = 'i-0123456789abcdef0';
let emulator: EmulatorProcess;
let dir: string;
let ca: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ssmx-ca-'));
  const file = (name: string) => join(dir, name);
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=ssmx test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'san.ext', '-out', 'server.pem']);
  ca = file('ca.pem');
  emulator = await startEmulatorProcess(['--tls-cert', file('server.pem'), '--tls-key', file('server.key')]);
});
afterAll(async () => {
  await emulator?.stop();
});

const ssmx = (args: string[], env: NodeJS.ProcessEnv) => runProgram(process.execPath, [ssmxBin, ...args], { env, input: '', timeoutMs: 30_000 });

describe('a private CA', () => {
  it('unknown to ssmx: the certificate is refused, exit 5', async () => {
    const result = await ssmx(['run', TARGET, '--', 'echo no'], emulator.env);
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/^ssmx: error: cannot trust https:\/\/127\.0\.0\.1:\d+: unable to verify the first certificate\nhint: .*AWS_CA_BUNDLE/);
  });

  it('AWS_CA_BUNDLE: the API and the data channel trust it', async () => {
    const result = await ssmx(['run', TARGET, '--', 'echo trusted-$((6*7))'], { ...emulator.env, AWS_CA_BUNDLE: ca });
    expect(result.stdout).toBe('trusted-42\n');
    expect(result.code).toBe(0);
  });

  it('the profile\'s ca_bundle, as the AWS CLI reads it', async () => {
    const config = join(dir, 'config');
    writeFileSync(config, ['[profile corp]', `aws_access_key_id = ${emulator.info.accessKeyId}`, `aws_secret_access_key = ${emulator.info.secretAccessKey}`, `region = ${emulator.info.region}`, `ca_bundle = ${ca}`, ''].join('\n'));
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...rest } = emulator.env;
    const result = await ssmx(['--profile', 'corp', 'run', TARGET, '--', 'echo from-profile'], { ...rest, AWS_CONFIG_FILE: config });
    expect(result.stdout).toBe('from-profile\n');
    expect(result.code).toBe(0);
  });

  it('a bundle that cannot be read is a usage error that names it', async () => {
    const result = await ssmx(['run', TARGET, '--', 'true'], { ...emulator.env, AWS_CA_BUNDLE: join(dir, 'missing.pem') });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`cannot read the CA bundle ${join(dir, 'missing.pem')}: ENOENT`);
  });
});
