import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PortPlugin } from '../../src/emulator/agent/port-plugin.js';
import type { PluginHost } from '../../src/emulator/agent/plugin.js';

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A destination on loopback that records what each connection sends, and closes the first once it said "bye". */
async function destination() {
  const connections: string[] = [];
  server = createServer((socket: Socket) => {
    const index = connections.push('') - 1;
    socket.on('data', (data) => {
      connections[index] += data.toString();
      if (index === 0 && connections[index]!.endsWith('bye')) socket.end();
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections };
}

function host() {
  const events: string[] = [];
  const plugin: PluginHost = {
    output: () => undefined,
    done: (output = '') => void events.push(`done ${output}`),
    terminate: () => void events.push('terminate'),
    inputDrained: () => void events.push('drained'),
  };
  return { plugin, events };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(check()).toBe(true);
};

describe("the emulator's Port plugin, basic mode, after its destination closes", () => {
  it('a stream session (ssh) ends with it; input that still comes is dropped, never sent on a new connection', async () => {
    // The agent dials again only for port forwarding (port_basic.go: HandleStreamMessage redials
    // when reconnectToPort is set, which handlePortError sets for LocalPortForwarding alone); for
    // a stream session its write to the closed connection fails and the message is dropped.
    const { port, connections } = await destination();
    const { plugin: pluginHost, events } = host();
    const plugin = new PortPlugin(pluginHost, { host: '127.0.0.1', port, type: undefined, multiplexed: false, keepAlive: false });
    plugin.start();
    await until(() => connections.length === 1);
    plugin.input(Buffer.from('bye'));
    await until(() => events.includes('done '));
    expect(plugin.input(Buffer.from('late'))).not.toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(connections).toEqual(['bye']);
    plugin.stop();
  });

  it('port forwarding dials again when the client next sends data', async () => {
    const { port, connections } = await destination();
    const { plugin: pluginHost, events } = host();
    const plugin = new PortPlugin(pluginHost, { host: '127.0.0.1', port, type: 'LocalPortForwarding', multiplexed: false, keepAlive: false });
    plugin.start();
    await until(() => connections.length === 1);
    plugin.input(Buffer.from('bye'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(plugin.input(Buffer.from('again'))).toBe(false);
    await until(() => connections[1] === 'again');
    expect(events).toContain('drained');
    expect(events.some((event) => event.startsWith('done'))).toBe(false);
    plugin.stop();
  });
});
