import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeOpenDataChannel } from '../protocol/payloads.js';
import { ProtocolError } from '../protocol/errors.js';
import { AgentSession } from './agent/agent-session.js';
import { ApiError, callSsm, type ApiContext } from './api.js';
import type { EmulatorConfig } from './config.js';
import { SessionStore } from './sessions.js';
import { verifySigV4 } from './sigv4.js';

const MAX_BODY = 1 << 20;
const DATA_CHANNEL_PATH = /^\/v1\/data-channel\/([^/?]+)(\?.*)?$/;
/** The client must send its open-data-channel frame this soon after connecting. */
const OPEN_TIMEOUT_MS = 10_000;

export interface RunningEmulator {
  endpoint: string;
  port: number;
  sessions: SessionStore;
  close(): Promise<void>;
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomBytes(16).toString('hex'),
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: ApiError): void {
  sendJson(response, error.status, { __type: error.code, message: error.message });
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new ApiError('SerializationException', 'Request body too large.', 413));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Starts the emulated service: the SSM JSON API and the data-channel gateway on one port. */
export async function startEmulator(config: EmulatorConfig): Promise<RunningEmulator> {
  const sessions = new SessionStore();
  const agents = new Map<string, AgentSession>();
  const sockets = new Set<Socket>();
  // A port that refuses connections, for the unreachable-stream fault.
  const deadPort = await (async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, config.host, resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  })();

  let port = config.port;
  const streamUrl = (sessionId: string, unreachable: boolean) =>
    `ws://${config.host}:${unreachable ? deadPort : port}/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=1`;

  async function handleApi(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const target = request.headers['x-amz-target'];
    if (request.method !== 'POST' || typeof target !== 'string') {
      throw new ApiError('UnknownOperationException', 'Expected a POST with an X-Amz-Target header.', 404);
    }
    const [service, operation = ''] = target.split('.', 2);
    const signature = verifySigV4(
      { method: request.method, url: request.url ?? '/', headers: request.headers, body },
      {
        region: config.region,
        service: 'ssm',
        now: Date.now(),
        secretFor: (id) => (id === config.accessKeyId ? config.secretAccessKey : undefined),
      },
    );
    if (!signature.ok) throw new ApiError(signature.code, signature.message, 403);
    if (service !== 'AmazonSSM') throw new ApiError('UnknownOperationException', `Unknown service ${service}.`);
    const context: ApiContext = { config, sessions, streamUrl };
    const result = callSsm(operation, body, context);
    sendJson(response, 200, result);
  }

  const server: Server = createServer((request, response) => {
    handleApi(request, response).catch((error: unknown) => {
      if (error instanceof ApiError) sendError(response, error);
      else sendError(response, new ApiError('InternalServerError', (error as Error).message, 500));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const gateway = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (request, socket, head) => {
    const match = DATA_CHANNEL_PATH.exec(request.url ?? '');
    const record = match ? sessions.get(decodeURIComponent(match[1]!)) : undefined;
    if (!record || record.status === 'Terminated') {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    gateway.handleUpgrade(request, socket, head, (ws) => acceptDataChannel(ws, record.sessionId));
  });

  function acceptDataChannel(ws: WebSocket, sessionId: string): void {
    const record = sessions.get(sessionId)!;
    const openTimer = setTimeout(() => ws.close(1008, 'no open-data-channel message'), OPEN_TIMEOUT_MS);
    ws.once('message', (data, isBinary) => {
      clearTimeout(openTimer);
      const open = isBinary ? undefined : decodeOpenDataChannel(data.toString());
      if (!open || open instanceof ProtocolError || open.tokenValue !== record.tokenValue) {
        ws.close(1008, 'invalid token');
        return;
      }
      if (record.status === 'Terminated') {
        ws.close(1000, 'session terminated');
        return;
      }
      switch (record.target.fault) {
        case 'close-websocket':
          ws.terminate();
          return;
        case 'malformed-frame':
          ws.send(Buffer.from('this is not an agent message'), { binary: true });
          return;
        default:
          break;
      }
      let agent = agents.get(sessionId);
      if (!agent) {
        agent = new AgentSession(record, config, () => {
          agents.delete(sessionId);
          sessions.ended(sessionId);
        });
        agents.set(sessionId, agent);
        sessions.onTerminate(sessionId, () => agent!.terminate());
      }
      agent.attach(ws);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://${config.host}:${port}`,
    port,
    sessions,
    async close() {
      for (const agent of agents.values()) agent.terminate();
      for (const client of gateway.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
