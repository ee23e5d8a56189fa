import { connect, createServer, type AddressInfo, type Server } from 'node:net';

/** Writes `text` to a local port and resolves with as many characters as came back. */
export const echoed = (port: number, text: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(text));
    let got = '';
    socket.on('data', (data: Buffer) => {
      got += data.toString();
      if (got.length >= text.length) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('error', reject);
  });

/** An echo server on a free loopback port: what comes in goes back. */
export async function listenEcho(): Promise<{ server: Server; port: number }> {
  const server = createServer((socket) => socket.on('error', () => undefined).pipe(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}
