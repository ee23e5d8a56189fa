import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A destination for integrity tests: on each connection it sends `download` random bytes and hashes
 * everything it receives; when the client half-closes, it records the digests and closes too.
 *
 * With `confirmUpload` (the soak), each client names itself first (TAG_BYTES bytes, in neither
 * digest) and uploads exactly that many bytes; once they have all arrived and the download is out,
 * the server sends its SHA-256 of the upload (32 bytes) and closes. The client counts its transfer
 * whole only with that answer: bytes written into a local socket are not delivered yet, and a
 * tunnel that ends then loses them without either end's stream showing it. No half-close is
 * needed, which a multiplexed tunnel does not carry (the agent closes the destination when the
 * client's side ends: agent port_mux.go, handleDataTransfer).
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

export interface HashResult {
  sentSha256: string;
  receivedSha256: string;
  receivedBytes: number;
}

/** Bytes of the name a confirming client sends first (see `hashClient`'s `tag`). */
export const TAG_BYTES = 16;
const DIGEST_BYTES = 32;

export interface HashServer {
  port: number;
  /** Per connection, in order of arrival: what it sent and what it received. */
  results: Array<Promise<HashResult>>;
  /**
   * With `confirmUpload`, the record of the connection that named itself `tag` (hex), whenever it
   * comes: paired by name, not by arrival, so a connection that reaches the server late is never
   * mistaken for the next one.
   */
  resultFor(tag: string): Promise<HashResult>;
  close(): Promise<void>;
}

export async function startHashServer(download: number, options: { confirmUpload?: number } = {}): Promise<HashServer> {
  const results: HashServer['results'] = [];
  const byTag = new Map<string, { promise: Promise<HashResult>; resolve: (result: HashResult) => void }>();
  const entry = (tag: string) => {
    let found = byTag.get(tag);
    if (!found) {
      let resolve!: (result: HashResult) => void;
      const promise = new Promise<HashResult>((done) => (resolve = done));
      byTag.set(tag, (found = { promise, resolve }));
    }
    return found;
  };
  const confirming = options.confirmUpload !== undefined;
  const open = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    let head = Buffer.alloc(0);
    let tag: string | undefined;
    let downloaded = false;
    let result: HashResult | undefined;
    results.push(
      new Promise((resolve) => {
        const record = () => {
          result ??= { sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), receivedBytes };
          resolve(result);
          if (tag !== undefined) entry(tag).resolve(result);
          return result;
        };
        const confirmIfDone = () => {
          if (!confirming || result || !downloaded || receivedBytes < options.confirmUpload!) return;
          socket.end(Buffer.from(record().receivedSha256, 'hex'));
        };
        socket.on('data', (data: Buffer) => {
          if (confirming && tag === undefined) {
            head = Buffer.concat([head, data]);
            if (head.length < TAG_BYTES) return;
            tag = head.subarray(0, TAG_BYTES).toString('hex');
            data = head.subarray(TAG_BYTES);
          }
          received.update(data);
          receivedBytes += data.length;
          confirmIfDone();
        });
        socket.on('end', () => {
          record();
          // The client is gone: close this side too (a confirming one never half-closes on purpose).
          socket.end();
        });
        socket.on('close', () => record());
        socket.on('error', () => undefined);
        pumpRandom(socket, download, sent, () => {
          downloaded = true;
          confirmIfDone();
        });
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    results,
    resultFor: (tag) => entry(tag).promise,
    // Connections still open (a tunnel that ended mid-transfer leaves them to the agent) are cut.
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

/**
 * The client end: uploads `upload` random bytes, reads `expectDownload` bytes (optionally stalling
 * first), then half-closes. Returns both digests. With `tag` (TAG_BYTES bytes), for a server that
 * confirms uploads: it names itself first and waits for the server's digest of the upload
 * (`confirmedSha256`), which follows the download, instead of half-closing.
 */
export function hashClient(port: number, upload: number, expectDownload: number, options: { stallMs?: number; tag?: Buffer; onProgress?: (receivedBytes: number) => void } = {}) {
  return new Promise<HashResult & { confirmedSha256?: string }>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const sent = createHash('sha256');
    const received = createHash('sha256');
    let receivedBytes = 0;
    let uploaded = false;
    let trailer = Buffer.alloc(0);
    let result: HashResult | undefined;
    const finishIfDone = () => {
      if (!uploaded || receivedBytes < expectDownload) return;
      result ??= { sentSha256: sent.digest('hex'), receivedSha256: received.digest('hex'), receivedBytes };
      if (!options.tag) {
        socket.end();
        return resolve(result);
      }
      if (trailer.length < DIGEST_BYTES) return;
      socket.end();
      resolve({ ...result, confirmedSha256: trailer.subarray(0, DIGEST_BYTES).toString('hex') });
    };
    socket.on('connect', () => {
      if (options.tag) socket.write(options.tag);
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
      const room = Math.max(0, expectDownload - receivedBytes);
      if (data.length > room) {
        trailer = Buffer.concat([trailer, data.subarray(room)]);
        data = data.subarray(0, room);
      }
      if (data.length > 0) {
        received.update(data);
        receivedBytes += data.length;
        options.onProgress?.(receivedBytes);
      }
      finishIfDone();
    });
    socket.on('error', reject);
    // A connection closed before every byte came (its session ended) fails, rather than waiting for ever.
    socket.on('close', () => reject(new Error(`closed after ${receivedBytes} of ${expectDownload} bytes${options.tag ? ' (and the server\'s confirmation)' : ''}`)));
  });
}
