// @module-tag needs-openssl
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { Agent, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { repoRoot } from '../support/emulator.js';
import { WebSocketTransport } from '../../src/transport/websocket.js';

let server: Server;
let url: string;
let certFile: string;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ssmx-tls-'));
  certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/v1/data-channel/s-1?role=publish_subscribe`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** Opens the transport in a fresh Node process, since Node reads NODE_EXTRA_CA_CERTS at start-up. */
function openIn(env: NodeJS.ProcessEnv): Promise<string> {
  const script = `
    import { WebSocketTransport } from ${JSON.stringify(`${repoRoot}dist/src/transport/websocket.js`)};
    try {
      const t = await WebSocketTransport.open(process.argv[1], { tokenValue: 't', clientId: 'c', clientVersion: 'v' });
      console.log('opened');
      t.close();
    } catch (e) {
      console.log('failed', e.code, e.message);
    }`;
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'AWS_CA_BUNDLE', 'NODE_TLS_REJECT_UNAUTHORIZED'].includes(k)) clean[k] = v;
  }
  // Not spawnSync: the server under test runs on this process's event loop.
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, url], { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return new Promise((resolve) => child.on('close', () => resolve(out.trim())));
}

describe('TLS on the data channel', () => {
  it('is verified: an unknown certificate authority is refused', async () => {
    expect(await openIn({})).toMatch(/^failed STREAM_UNREACHABLE .*self-signed certificate/);
  });

  it('trusts a private CA named by NODE_EXTRA_CA_CERTS', async () => {
    expect(await openIn({ NODE_EXTRA_CA_CERTS: certFile })).toBe('opened');
  });

  it('a download over TLS that ssmx cannot keep up with is read at once, never held back by read coalescing', async () => {
    // Each TLS record reaches the reader on its own: were each judged alone, a full 16 KiB record
    // would look like a read that emptied the socket and wait 1 ms, about once per two records.
    const fast = createServer({ cert: readFileSync(certFile), key: readFileSync(certFile.replace('cert.pem', 'key.pem')) });
    const total = 16 << 20;
    new WebSocketServer({ server: fast }).on('connection', (ws) =>
      ws.once('message', () => {
        let sent = 0;
        const pump = () => {
          while (sent < total && ws.bufferedAmount < 1 << 20) {
            ws.send(Buffer.alloc(1024, 1));
            sent += 1024;
          }
          if (sent < total) setTimeout(pump, 1);
        };
        pump();
      }),
    );
    await new Promise<void>((resolve) => fast.listen(0, '127.0.0.1', resolve));
    const transport = await WebSocketTransport.open(`wss://127.0.0.1:${(fast.address() as AddressInfo).port}/`, {
      tokenValue: 't', clientId: 'c', clientVersion: 'v', agent: new Agent({ ca: readFileSync(certFile) }),
    });
    const socket = (transport as unknown as { socket: { pause: () => unknown } }).socket;
    let waits = 0;
    const pause = socket.pause.bind(socket);
    socket.pause = () => {
      waits++;
      return pause();
    };
    let received = 0;
    await new Promise<void>((resolve) => transport.on('frame', (frame) => (received += frame.length) >= total && resolve()));
    transport.close();
    await new Promise<void>((resolve) => fast.close(() => resolve()));
    // Judged per record, 16 MiB waited about 220 times here; judged per pass of the loop, none.
    expect(waits).toBeLessThan(40);
  });
});

