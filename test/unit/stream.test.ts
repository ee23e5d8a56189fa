import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { FlagValue, PayloadType } from '../../src/protocol/constants.js';
import { encodeHandshakeRequest } from '../../src/protocol/payloads.js';
import { DataChannelSession, TERMINATE_WAIT_MS } from '../../src/session/data-channel-session.js';
import { ACK_WAIT_MS, runStream, type StreamOutcome } from '../../src/session/stream.js';
import { portMode } from '../../src/session/tunnel.js';
import { FakeTransport } from '../support/fake-transport.js';

/** An AWS-StartSSHSession handshake (a Port session whose properties have no `type`), then complete. */
function sshSession() {
  const transport = new FakeTransport();
  const session = new DataChannelSession(transport, { clientVersion: '1.2.650.0' });
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const written: Buffer[] = [];
  stdout.on('data', (data: Buffer) => written.push(data));
  let outcome: Promise<StreamOutcome> | undefined;
  session.once('ready', (ready) => {
    expect(portMode(ready)).toBe('stream');
    outcome = runStream(session, { stdin, stdout });
  });
  transport.deliver(0, PayloadType.HandshakeRequest, encodeHandshakeRequest({
    agentVersion: '3.3.1142.0',
    requestedClientActions: [{ actionType: 'SessionType', actionParameters: { SessionType: 'Port', Properties: { portNumber: '22' } } }],
  }));
  return { transport, session, stdin, stdout, written, outcome: () => outcome! };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('stream sessions (ssh ProxyCommand) on the wire', () => {
  it('output that comes with HandshakeComplete reaches stdout exactly, nothing added', async () => {
    const s = sshSession();
    s.transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
    s.transport.deliver(2, PayloadType.Output, 'SSH-2.0-OpenSSH_9.2\r\n');
    s.transport.deliver(3, PayloadType.Output, Buffer.from([0x00, 0xff, 0x0a, 0x0d]));
    await tick();
    expect(Buffer.concat(s.written)).toEqual(Buffer.concat([Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'), Buffer.from([0x00, 0xff, 0x0a, 0x0d])]));
  });

  it('stdin goes out as Output messages of at most 1,024 bytes; at its end, the TerminateSession flag follows the last ack (DisconnectToPort would fail the session: port_basic.go handleSSHDPortError)', async () => {
    const s = sshSession();
    s.transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
    const input = Buffer.alloc(2500, 0xab);
    s.stdin.write(input);
    s.stdin.end();
    await tick();
    // Sequence 0 is the HandshakeResponse; the input follows in 1,024-byte pieces.
    const data = s.transport.data().filter((m) => m.payloadType === PayloadType.Output);
    expect(data.map((m) => [Number(m.sequenceNumber), m.payload.length])).toEqual([[1, 1024], [2, 1024], [3, 452]]);
    expect(Buffer.concat(data.map((m) => m.payload))).toEqual(input);
    // Nothing ends the connection while input is unacknowledged.
    expect(s.transport.data().some((m) => m.payloadType === PayloadType.Flag)).toBe(false);
    for (const message of s.transport.data()) s.transport.acknowledge(message);
    const flags = s.transport.data().filter((m) => m.payloadType === PayloadType.Flag);
    expect(flags).toHaveLength(1);
    expect(flags[0]!.payload).toEqual(Buffer.from([0, 0, 0, FlagValue.TerminateSession]));
    expect(Number(flags[0]!.sequenceNumber)).toBe(4);
    // ssmx has ended the session: it closes its end, and the outcome has no channel_closed.
    expect(s.transport.closed).toBe(true);
    await expect(s.outcome()).resolves.toEqual({ closed: undefined });
  });

  it(`input an agent never acknowledges (a duplicate it dropped after a drop) holds the TerminateSession flag back ${ACK_WAIT_MS / 1000} s at most`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const s = sshSession();
      s.transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
      s.stdin.write(Buffer.from('last words'));
      s.stdin.end();
      await tick();
      const flags = () => s.transport.data().filter((m) => m.payloadType === PayloadType.Flag);
      vi.advanceTimersByTime(ACK_WAIT_MS - 1);
      expect(flags()).toHaveLength(0);
      vi.advanceTimersByTime(1);
      expect(flags()).toHaveLength(1);
      expect(flags()[0]!.payload).toEqual(Buffer.from([0, 0, 0, FlagValue.TerminateSession]));
      await expect(s.outcome()).resolves.toEqual({ closed: undefined });
    } finally {
      vi.useRealTimers();
    }
  });

  it('stdout that does not keep up stops the reading of the data channel, and its drain resumes it', async () => {
    const s = sshSession();
    s.transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
    s.stdout.pause();
    s.stdout.removeAllListeners('data');
    const chunk = Buffer.alloc(1024, 1);
    for (let i = 0; i < 4200; i++) s.transport.deliver(2 + i, PayloadType.Output, chunk);
    expect(s.transport.paused).toBe(true);
    s.stdout.resume();
    await tick();
    await tick();
    expect(s.transport.paused).toBe(false);
  });

  it(`terminate: the TerminateSession flag, then the close; it settles when the service has closed the connection, or after ${TERMINATE_WAIT_MS / 1000} s`, async () => {
    /** A ready session whose service does not close its end until told; terminate() and whether it settled. */
    const terminating = async () => {
      const s = sshSession();
      s.transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
      s.transport.holdClose = true;
      const ending = { settled: false, done: undefined as unknown as Promise<void> };
      ending.done = s.session.terminate().then(() => void (ending.settled = true));
      await tick();
      expect(s.transport.data().filter((m) => m.payloadType === PayloadType.Flag).map((m) => m.payload)).toEqual([Buffer.from([0, 0, 0, FlagValue.TerminateSession])]);
      expect(s.transport.closed).toBe(true);
      return { transport: s.transport, ending };
    };

    const { transport, ending } = await terminating();
    // Until the service closes its end, ssmx keeps reading: it does not exit with bytes unread.
    await tick();
    expect(ending.settled).toBe(false);
    transport.finishClose();
    await ending.done;

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const silent = await terminating();
      await vi.advanceTimersByTimeAsync(TERMINATE_WAIT_MS - 1);
      expect(silent.ending.settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await silent.ending.done;
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('ending a session on the service: the flag where the agent acts on it, the API elsewhere', () => {
  /** A ready session of the given type (agent 3.3.1142.0), with the API call counted. */
  function readySession(sessionType: string, properties: Record<string, string>) {
    const transport = new FakeTransport();
    const calls: string[] = [];
    const session = new DataChannelSession(transport, { clientVersion: '1.2.896.0', terminateOnService: async () => void calls.push('TerminateSession') });
    transport.deliver(0, PayloadType.HandshakeRequest, encodeHandshakeRequest({
      agentVersion: '3.3.1142.0',
      requestedClientActions: [{ actionType: 'SessionType', actionParameters: { SessionType: sessionType, Properties: properties } }],
    }));
    transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
    const flags = () => transport.data().filter((m) => m.payloadType === PayloadType.Flag).map((m) => [...m.payload]);
    return { session, calls, flags };
  }

  it('a Port session: the TerminateSession flag (basicportsession.go and muxportsession.go act on it), no API call', async () => {
    const s = readySession('Port', { portNumber: '22' });
    await s.session.terminate();
    expect(s.flags()).toEqual([[0, 0, 0, FlagValue.TerminateSession]]);
    expect(s.calls).toEqual([]);
  });

  for (const sessionType of ['Standard_Stream', 'NonInteractiveCommands', 'InteractiveCommands']) {
    it(`a ${sessionType} session: the TerminateSession API, no flag (the shell plugin ignores flags: its command would run on)`, async () => {
      const s = readySession(sessionType, {});
      await s.session.terminate();
      expect(s.flags()).toEqual([]);
      expect(s.calls).toEqual(['TerminateSession']);
    });
  }
});
