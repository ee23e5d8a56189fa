import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A destination for integrity tests: on each connection it sends `download` random bytes and hashes
 * everything it receives; when the client half-closes, it records the digests and closes too.
 */
/** Writes `bytes` random bytes to a socket, hashing them, with the socket's backpressure; then calls `done`. */
function pumpRandom(socket: Socket, bytes: number, hash: ReturnType<typeof createHash>, done: () => void = () => undefined): void {
  let remaining = bytes;
  const pump = () => {
    while (remaining > 0) {
      const chunk = randomBytes(Math.min(remaining, 64 * 1024));
      remaining -= chunk.length;
      hash.update(chunk);
      if (!socket.write(chunk)) return void socket.once('drain', pump);
    }
    done();
  };
  pump();
}

export interface HashServer {
  port: number;
  /** Per connection, in order of arrival: what it sent and what it received. */
  results: Array<Promise<{ sentSha256: string; receivedSha256: string; receivedBytes: number }>>;
  close(): Promise<void>;
}

export async function startHashServer(download: number): Promise<HashServer> {
  const results: HashServer['results'] = [];
  const server: Server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    results.push(
      new Promise((resolve) => {
        socket.on('data', (data: Buffer) => {
          received.update(data);
          receivedBytes += data.length;
        });
        socket.on('end', () => {
          resolve({ sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), receivedBytes });
          socket.end();
        });
        socket.on('error', () => undefined);
      }),
    );
    pumpRandom(socket, download, sent);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    results,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The client end: uploads `upload` random bytes, reads `expectDownload` bytes (optionally stalling
 * first), then half-closes. Returns both digests.
 */
export function hashClient(port: number, upload: number, expectDownload: number, options: { stallMs?: number; onProgress?: (receivedBytes: number) => void } = {}) {
  return new Promise<{ sentSha256: string; receivedSha256: string; receivedBytes: number }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    let uploaded = false;
    const finishIfDone = () => {
      if (!uploaded || receivedBytes < expectDownload) return;
      socket.end();
      resolve({ sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), receivedBytes });
    };
    socket.on('connect', () => {
      pumpRandom(socket, upload, sent, () => {
        uploaded = true;
        finishIfDone();
      });
      if (options.stallMs) {
        socket.pause();
        setTimeout(() => socket.resume(), options.stallMs);
      }
    });
    socket.on('data', (data: Buffer) => {
      received.update(data);
      receivedBytes += data.length;
      options.onProgress?.(receivedBytes);
      finishIfDone();
    });
    socket.on('error', reject);
    // A connection closed before every byte came (its session ended) fails, rather than waiting for ever.
    socket.on('close', () => reject(new Error(`closed after ${receivedBytes} of ${expectDownload} bytes`)));
  });
}
