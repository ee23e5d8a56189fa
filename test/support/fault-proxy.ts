import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy between ssmx and the emulator (API and data channel both) that a test can cut: every
 * live connection dropped at once, as a Wi-Fi change or a VPN flap drops them; and, while
 * `refusing`, new connections closed as soon as they arrive.
 */
export interface FaultProxy {
  port: number;
  endpoint: string;
  setUpstream(port: number): void;
  cut(): void;
  refusing: boolean;
  close(): Promise<void>;
}

export async function startFaultProxy(): Promise<FaultProxy> {
  let upstream = 0;
  const live = new Set<Socket>();
  const proxy: Partial<FaultProxy> & { refusing: boolean } = { refusing: false };
  const server: Server = createServer((client) => {
    if (proxy.refusing || upstream === 0) return void client.destroy();
    const remote = connect({ host: '127.0.0.1', port: upstream });
    live.add(client);
    live.add(remote);
    const drop = () => {
      client.destroy();
      remote.destroy();
      live.delete(client);
      live.delete(remote);
    };
    client.on('error', drop).on('close', drop);
    remote.on('error', drop).on('close', drop);
    client.pipe(remote);
    remote.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(proxy, {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    setUpstream: (next: number) => (upstream = next),
    cut: () => {
      for (const socket of live) socket.destroy();
      live.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of live) socket.destroy();
        server.close(() => resolve());
      }),
  }) as FaultProxy;
}
