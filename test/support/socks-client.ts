import { connect } from 'node:net';

/**
 * A SOCKS 5 CONNECT by hand (no authentication, the destination by name or IPv4 text): resolves
 * with the proxy's reply code (0 succeeded, 2 not allowed, 4 host unreachable, 5 refused…) and
 * closes the connection.
 */
export function socksConnectReply(proxyPort: number, host: string, port: number, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxyPort, '127.0.0.1');
    let buffered = Buffer.alloc(0);
    let greeted = false;
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no SOCKS reply for ${host}:${port}`)));
    socket.once('error', reject);
    socket.write(Buffer.from([5, 1, 0]));
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (!greeted && buffered.length >= 2) {
        greeted = true;
        buffered = buffered.subarray(2);
        const name = Buffer.from(host);
        socket.write(Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]));
      }
      if (greeted && buffered.length >= 2) {
        socket.destroy();
        resolve(buffered[1]!);
      }
    });
    socket.once('close', () => reject(new Error(`the proxy closed without a reply for ${host}:${port}`)));
  });
}
