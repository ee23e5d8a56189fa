import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { decodeOpenDataChannel } from '../protocol/payloads.js';
import { ProtocolError } from '../protocol/errors.js';
import { AgentSession } from './agent/agent-session.js';
import { loadPty } from './agent/pty.js';
import { ApiError, callSsm, parseJsonBody, type ApiContext } from './api.js';
import { credentialProblem, principalFor as principalOf, type EmulatorConfig, type PrincipalConfig } from './config.js';
import { checkDataChannelUpgrade, presignStreamUrl } from './data-channel-auth.js';
import type { DataChannelUpgrade, EmitEvent } from './events.js';
import { DocumentStore } from './documents.js';
import { describeInstances, ec2ErrorXml } from './ec2.js';
import { describeTasks, executeCommand } from './ecs.js';
import { generateDataKey } from './kms.js';
import { parseForm } from './query.js';
import { assumeRole, getCallerIdentity, stsErrorXml } from './sts.js';
import { SessionStore } from './sessions.js';
import { CommandService } from './commands.js';
import { verifySigV4 } from './sigv4.js';

const MAX_BODY = 1 << 20;
const DATA_CHANNEL_PATH = /^\/v1\/data-channel\/([^/?]+)(\?.*)?$/;
/** The client must send its open-data-channel frame this soon after connecting. */
const OPEN_TIMEOUT_MS = 10_000;

export interface RunningEmulator {
  endpoint: string;
  port: number;
  sessions: SessionStore;
  /** Every data-channel WebSocket upgrade, in the order they came, refused ones too. */
  upgrades: DataChannelUpgrade[];
  close(): Promise<void>;
}

export interface EmulatorHooks {
  /** Called for each StartSession and each data-channel upgrade (`ssmx emulator --events`). */
  onEvent?: EmitEvent;
}

/**
 * Refuses an upgrade before it happens, as the service does: HTTP 403 with a short body saying
 * why, then the connection closed.
 */
function refuseUpgrade(socket: Duplex, reason: string): void {
  const body = `${reason}\n`;
  socket.on('error', () => undefined);
  socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
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

function s3ErrorXml(error: ApiError): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${error.message.replace(/[<&>]/g, ' ')}</Message></Error>`;
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
export async function startEmulator(config: EmulatorConfig, hooks: EmulatorHooks = {}): Promise<RunningEmulator> {
  // Shells need node-pty; without it the API, ports and commands are still served.
  await loadPty();
  const sessions = new SessionStore();
  // Each emulated instance keeps its Run Command scripts in a directory of its own.
  const commandRoot = mkdtempSync(join(tmpdir(), 'ssmx-emulator-instances-'));
  const documents = new DocumentStore();
  const agents = new Map<string, AgentSession>();
  const sockets = new Set<Socket>();
  const upgrades: DataChannelUpgrade[] = [];
  const emit: EmitEvent = (event) => hooks.onEvent?.(event);
  // A port that refuses connections, for the unreachable-stream fault.
  const deadPort = await (async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, config.host, resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  })();

  let port = config.port;
  const hostInUrl = config.host.includes(':') ? `[${config.host}]` : config.host;
  // The port is known once the server listens; the URLs are made after that.
  const commands = new CommandService(config, commandRoot, () => config.publicEndpoint?.replace(/\/$/, '') ?? `${config.tls ? 'https' : 'http'}://${hostInUrl}:${port}`);
  const streamUrl = (sessionId: string, unreachable: boolean) => {
    const scheme = config.tls ? 'wss' : 'ws';
    const base = unreachable ? `${scheme}://${hostInUrl}:${deadPort}` : config.publicEndpoint ? config.publicEndpoint.replace(/^http/, 'ws').replace(/\/$/, '') : `${scheme}://${hostInUrl}:${port}`;
    const url = `${base}/v1/data-channel/${sessionId}?role=publish_subscribe&cell-number=1`;
    // Signed with the emulator's own keys at the moment it is issued (src/emulator/data-channel-auth.ts).
    return config.presignedStreamUrls ? presignStreamUrl(url, config, config.region, Date.now()) : url;
  };

  type Protocol = 'json' | 'ec2' | 'sts' | 's3';
  const protocolOf = (service: string | undefined): Protocol => (service === 'ec2' ? 'ec2' : service === 'sts' ? 'sts' : service === 's3' ? 's3' : 'json');

  const principalFor = (accessKeyId: string): PrincipalConfig | undefined => principalOf(config, accessKeyId);

  function authorize(principal: PrincipalConfig, sessionToken: string | undefined, action: string, resource: string): void {
    const problem = credentialProblem(principal, sessionToken);
    if (problem) throw new ApiError(problem.code, problem.message, 403);
    if (principal.deny?.includes(action)) {
      throw new ApiError(
        'AccessDeniedException',
        `User: arn:aws:iam::123456789012:user/ssmx-test is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
      );
    }
    if (config.throttle > 0) {
      config.throttle -= 1;
      throw new ApiError('ThrottlingException', 'Rate exceeded');
    }
  }

  async function handleApi(request: IncomingMessage, response: ServerResponse, protocol: (p: Protocol) => void): Promise<void> {
    const body = await readBody(request);
    // The service is the one the request was signed for (SSM and ECS speak JSON, EC2 and STS the query protocol).
    const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([a-z0-9-]+)\//.exec(String(request.headers.authorization ?? ''));
    const service = scope?.[1] ?? 'ssm';
    protocol(protocolOf(service));
    if (service === 's3') return getObject(request, response, body);
    if (request.method !== 'POST') throw new ApiError('UnknownOperationException', 'Expected a POST.', 404);
    if (!['ssm', 'ec2', 'ecs', 'sts', 'kms'].includes(service)) throw new ApiError('UnknownOperationException', `This emulator does not serve ${service}.`, 400);
    const signature = verifySigV4(
      { method: request.method, url: request.url ?? '/', headers: request.headers, body },
      { region: config.region, service, now: Date.now(), secretFor: (id) => principalFor(id)?.secretAccessKey },
    );
    if (!signature.ok) throw new ApiError(signature.code, signature.message, 403);
    const principal = principalFor(signature.accessKeyId)!;
    // The emulator's own keys are a user; any other key is a user named after it.
    const caller = `arn:aws:iam::123456789012:user/${principal.accessKeyId === config.accessKeyId ? 'ssmx-emulator' : principal.accessKeyId}`;
    const token = request.headers['x-amz-security-token'];
    const sessionToken = typeof token === 'string' ? token : undefined;

    if (service === 'ec2' || service === 'sts') {
      const action = parseForm(body).get('Action') ?? '';
      authorize(principal, sessionToken, `${service}:${action}`, '*');
      let xml: string;
      if (service === 'ec2' && action === 'DescribeInstances') xml = describeInstances(body, config);
      else if (service === 'sts' && action === 'AssumeRole') xml = assumeRole(body, config);
      else if (service === 'sts' && action === 'GetCallerIdentity') xml = getCallerIdentity(caller);
      else throw new ApiError(service === 'ec2' ? 'InvalidAction' : 'InvalidAction', `The action ${action} is not valid for this web service.`);
      response.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
      response.end(xml);
      return;
    }

    const target = request.headers['x-amz-target'];
    if (typeof target !== 'string') throw new ApiError('UnknownOperationException', 'Expected an X-Amz-Target header.', 404);
    const [prefix, operation = ''] = target.split('.', 2);
    const expected = service === 'ecs' ? 'AmazonEC2ContainerServiceV20141113' : service === 'kms' ? 'TrentService' : 'AmazonSSM';
    if (prefix !== expected) throw new ApiError('UnknownOperationException', `Unknown service ${prefix}.`);
    const input = parseJsonBody(body);
    const resource =
      typeof input.Target === 'string' ? `arn:aws:ssm:${config.region}:123456789012:instance/${input.Target}` : service === 'ecs' ? `arn:aws:ecs:${config.region}:123456789012:task/*` : '*';
    authorize(principal, sessionToken, `${service}:${operation}`, resource);
    const context: ApiContext = { config, sessions, documents, commands, streamUrl, caller, emit };
    if (service === 'kms') {
      if (operation !== 'GenerateDataKey') throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by this emulator.`);
      sendJson(response, 200, generateDataKey(input, config));
      return;
    }
    if (service === 'ecs') {
      if (operation === 'DescribeTasks') return sendJson(response, 200, describeTasks(input, context));
      if (operation !== 'ExecuteCommand') throw new ApiError('UnknownOperationException', `Operation ${operation} is not supported by this emulator.`);
      sendJson(response, 200, executeCommand(input, context));
      return;
    }
    sendJson(response, 200, callSsm(operation, input, context));
  }

  /**
   * S3 GetObject, path-style (/bucket/key), for the output Run Command keeps in a bucket when asked
   * (OutputS3BucketName): only those objects exist here.
   */
  function getObject(request: IncomingMessage, response: ServerResponse, body: Buffer): void {
    if (request.method !== 'GET') throw new ApiError('MethodNotAllowed', 'The specified method is not allowed against this resource.', 405);
    const signature = verifySigV4(
      { method: request.method, url: request.url ?? '/', headers: request.headers, body },
      { region: config.region, service: 's3', now: Date.now(), secretFor: (id) => principalFor(id)?.secretAccessKey },
    );
    if (!signature.ok) throw new ApiError(signature.code === 'InvalidSignatureException' ? 'SignatureDoesNotMatch' : 'AccessDenied', signature.message, 403);
    const principal = principalFor(signature.accessKeyId)!;
    const token = request.headers['x-amz-security-token'];
    const [, bucket = '', ...key] = decodeURIComponent((request.url ?? '/').split('?')[0]!).split('/');
    authorize(principal, typeof token === 'string' ? token : undefined, 's3:GetObject', `arn:aws:s3:::${bucket}/${key.join('/')}`);
    const object = commands.objectAt(bucket, key.join('/'));
    if (!object) throw new ApiError('NoSuchKey', 'The specified key does not exist.', 404);
    response.writeHead(200, { 'content-type': 'binary/octet-stream', 'content-length': object.length });
    response.end(object);
  }

  const handler = (request: IncomingMessage, response: ServerResponse) => {
    let protocol: Protocol = 'json';
    handleApi(request, response, (p) => (protocol = p)).catch((error: unknown) => {
      const apiError = error instanceof ApiError ? error : new ApiError('InternalServerError', (error as Error).message, 500);
      if (protocol === 'json') return sendError(response, apiError);
      const xml = protocol === 'ec2' ? ec2ErrorXml(apiError) : protocol === 's3' ? s3ErrorXml(apiError) : stsErrorXml(apiError);
      response.writeHead(apiError.status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml) });
      response.end(xml);
    });
  };
  // With a certificate, HTTPS and wss:// as AWS serves them (proxies then see only CONNECT).
  const server: Server = config.tls ? createHttpsServer({ cert: config.tls.cert, key: config.tls.key }, handler) : createServer(handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const gateway = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (request, socket, head) => {
    const url = request.url ?? '';
    const match = DATA_CHANNEL_PATH.exec(url);
    if (!match) return refuseUpgrade(socket, 'Not a data channel.');
    let sessionId: string;
    try {
      sessionId = decodeURIComponent(match[1]!);
    } catch {
      return refuseUpgrade(socket, 'Not a data channel.');
    }
    // The credentials first (signed, presigned or neither), then the session they are for.
    const check = checkDataChannelUpgrade({ method: request.method ?? 'GET', url, headers: request.headers }, config, Date.now());
    const record = sessions.get(sessionId);
    const live = record !== undefined && record.status === 'Connected';
    const { accept, signed, presigned, accessKeyId, amzDate } = check;
    const upgrade: DataChannelUpgrade = { sessionId, signed, presigned, ...(accessKeyId ? { accessKeyId } : {}), ...(amzDate ? { amzDate } : {}), accepted: accept && live };
    upgrades.push(upgrade);
    emit({ event: 'data-channel-upgrade', ...upgrade });
    if (!check.accept) return refuseUpgrade(socket, check.reason);
    if (!live) return refuseUpgrade(socket, `The session ${sessionId} does not exist or has ended.`);
    gateway.handleUpgrade(request, socket, head, (ws) => acceptDataChannel(ws, sessionId));
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
      if (record.status !== 'Connected') {
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
        agent = new AgentSession(record, config, (failed, received) => {
          agents.delete(sessionId);
          sessions.ended(sessionId, failed);
          emit({ event: 'data-channel-closed', sessionId, messagesReceived: received.messages, duplicatesReceived: received.duplicates });
        });
        agents.set(sessionId, agent);
        sessions.onTerminate(sessionId, () => agent!.terminate());
        if (config.terminateAfterMs !== undefined) setTimeout(() => sessions.terminate(sessionId), config.terminateAfterMs).unref();
      }
      agent.attach(ws);
      if (config.gatewayCloseAfterMs !== undefined) {
        const closer = setTimeout(() => ws.readyState === ws.OPEN && ws.close(1000), config.gatewayCloseAfterMs);
        closer.unref();
        ws.once('close', () => clearTimeout(closer));
      }
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    endpoint: `${config.tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    port,
    sessions,
    upgrades,
    async close() {
      commands.close();
      rmSync(commandRoot, { recursive: true, force: true });
      for (const agent of agents.values()) agent.terminate();
      for (const client of gateway.clients) client.terminate();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
