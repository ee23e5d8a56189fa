import { request as httpRequest, createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { seeded } from '../../bench/fuzz.js';

/**
 * A proxy between ssmx and the emulator, for the API and the data channel both. A test can cut
 * every live connection at once (a Wi-Fi change, a VPN flap), refuse new ones for a while, and,
 * on a seeded schedule, duplicate, reorder or delay the data channel's binary frames in both
 * directions — what a bad network path and a replaying middlebox do; TCP itself stays intact.
 */
export interface FaultProxy {
  port: number;
  endpoint: string;
  setUpstream(port: number): void;
  cut(): void;
  refusing: boolean;
  /**
   * Probabilities per binary frame; 0 for a clean path. `corrupt` flips one byte of the payload (of
   * the digest, when there is no payload): the bytes the frame's SHA-256 covers. The header's other
   * fields are not covered by anything in the protocol (TLS is what protects them on a real path).
   * Only frames towards the client are damaged: the client checks digests (as the plugin does), the
   * agent does not (agentmessage.go), so damage towards it could not be noticed on AWS either.
   * `cut` drops every connection right after relaying the frame, as `cut()` does.
   */
  faults: Faults;
  /** Frames duplicated, reordered, delayed and corrupted so far, and cuts (scheduled or called). */
  counts: { duplicated: number; reordered: number; delayed: number; corrupted: number; cuts: number; frames: number };
  close(): Promise<void>;
}

export interface Faults {
  duplicate: number;
  reorder: number;
  delay: number;
  corrupt?: number;
  cut?: number;
}

/**
 * The schedule of the integrity test (test/e2e/resume.test.ts), which npm run bench measures
 * throughput under: the link cut 10 times over the transfer, and these frame faults both ways.
 */
export const INTEGRITY_SCHEDULE = { drops: 10, faults: { duplicate: 0.025, reorder: 0.025, delay: 0.01 } satisfies Faults };

/**
 * A progress callback that cuts the link `drops` times, evenly over a transfer of `total` bytes;
 * `made()` says how many cuts it has made.
 */
export function cutEvenly(proxy: Pick<FaultProxy, 'cut'>, total: number, drops: number): { onProgress: (received: number) => void; made: () => number } {
  let made = 0;
  return {
    onProgress: (received) => {
      if (made < drops && received >= ((made + 1) * total) / (drops + 1)) {
        made++;
        proxy.cut();
      }
    },
    made: () => made,
  };
}

/** The payload starts after the 120-byte header; the digest is bytes 80 to 111 (docs/protocol.md §2). */
const PAYLOAD_OFFSET = 120;
/** Bytes a relay may hold for a slow side before it stops reading the other. */
const RELAY_HIGH_WATER = 1 << 20;
const RELAY_LOW_WATER = 256 << 10;
const DIGEST_OFFSET = 80;

export async function startFaultProxy(seed = 1): Promise<FaultProxy> {
  let upstream = 0;
  let cutPending = false;
  const random = seeded(seed);
  const sockets = new Set<Socket>();
  const sockets2 = new Set<WebSocket>();
  const proxy = {
    refusing: false,
    faults: { duplicate: 0, reorder: 0, delay: 0 },
    counts: { duplicated: 0, reordered: 0, delayed: 0, corrupted: 0, cuts: 0, frames: 0 },
  } as FaultProxy;

  /** Relays binary frames one way with the configured faults; text frames pass untouched. */
  const relay = (from: WebSocket, to: WebSocket, towards: 'client' | 'agent') => {
    let held: Buffer | undefined;
    let heldTimer: NodeJS.Timeout | undefined;
    // Backpressure as a real path has it: stop reading one side while the other holds too much.
    const send = (data: Buffer) => {
      if (to.readyState !== WebSocket.OPEN) return;
      to.send(data, { binary: true }, () => {
        if (from.isPaused && to.bufferedAmount < RELAY_LOW_WATER) from.resume();
      });
      if (to.bufferedAmount > RELAY_HIGH_WATER && !from.isPaused) from.pause();
    };
    const flushHeld = () => {
      clearTimeout(heldTimer);
      if (held) send(held);
      held = undefined;
    };
    from.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return to.readyState === WebSocket.OPEN && to.send(data.toString());
      proxy.counts.frames++;
      const roll = random();
      const { duplicate, reorder, delay, corrupt = 0, cut = 0 } = proxy.faults;
      if (cut > 0 && random() < cut && !cutPending) {
        // After this frame has gone: the same turn's relaying finishes first.
        cutPending = true;
        setImmediate(() => {
          cutPending = false;
          proxy.cut();
        });
      }
      if (towards === 'client' && corrupt > 0 && data.length >= PAYLOAD_OFFSET && random() < corrupt) {
        proxy.counts.corrupted++;
        data = Buffer.from(data);
        const at = data.length > PAYLOAD_OFFSET ? PAYLOAD_OFFSET + Math.floor(random() * (data.length - PAYLOAD_OFFSET)) : DIGEST_OFFSET + Math.floor(random() * 32);
        data[at] ^= 1 + Math.floor(random() * 255);
      }
      if (roll < duplicate) {
        proxy.counts.duplicated++;
        send(data);
        send(data);
      } else if (roll < duplicate + reorder && !held) {
        // This frame goes after the next one (or after 20 ms, when none follows).
        proxy.counts.reordered++;
        held = data;
        heldTimer = setTimeout(flushHeld, 20);
        return;
      } else if (roll < duplicate + reorder + delay) {
        proxy.counts.delayed++;
        setTimeout(() => send(data), 5 + Math.floor(random() * 20));
      } else {
        send(data);
      }
      flushHeld();
    });
  };

  const gateway = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const server: Server = createServer((request: IncomingMessage, response) => {
    if (proxy.refusing || upstream === 0) return void request.socket.destroy();
    const forward = httpRequest({ host: '127.0.0.1', port: upstream, method: request.method, path: request.url, headers: request.headers }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  server.on('connection', (socket: Socket) => {
    if (proxy.refusing) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    if (proxy.refusing || upstream === 0) return void socket.destroy();
    gateway.handleUpgrade(request, socket, head, (client) => {
      const agent = new WebSocket(`ws://127.0.0.1:${upstream}${request.url ?? '/'}`, { perMessageDeflate: false });
      sockets2.add(client);
      sockets2.add(agent);
      const pending: Array<[Buffer, boolean]> = [];
      client.on('message', (data: Buffer, isBinary: boolean) => {
        if (agent.readyState !== WebSocket.OPEN) pending.push([data, isBinary]);
      });
      agent.once('open', () => {
        for (const [data, isBinary] of pending.splice(0)) agent.send(isBinary ? data : data.toString());
        relay(client, agent, 'agent');
        relay(agent, client, 'client');
      });
      const drop = () => {
        client.terminate();
        agent.terminate();
        sockets2.delete(client);
        sockets2.delete(agent);
      };
      // A close is passed on with its code; one that cannot be sent (1006, an abnormal end, and
      // the other reserved codes) is passed on as a drop: what a cut path looks like to both ends.
      const passOn = (to: WebSocket, code: number, reason: Buffer) => {
        const sent = code === 1005 ? 1000 : code;
        const sendable = (sent >= 1000 && sent <= 1014 && sent !== 1004 && sent !== 1006) || (sent >= 3000 && sent <= 4999);
        if (to.readyState === WebSocket.OPEN && sendable) to.close(sent, reason);
        else drop();
      };
      client.on('close', (code: number, reason: Buffer) => passOn(agent, code, reason));
      agent.on('close', (code: number, reason: Buffer) => passOn(client, code, reason));
      client.on('error', drop);
      agent.on('error', drop);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(proxy, {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    setUpstream: (next: number) => (upstream = next),
    cut: () => {
      proxy.counts.cuts++;
      for (const ws of sockets2) ws.terminate();
      sockets2.clear();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.cut();
        server.close(() => resolve());
      }),
  });
}
