import { describe, expect, it } from 'vitest';
import { PayloadType } from '../../src/protocol/constants.js';
import { encodeHandshakeRequest } from '../../src/protocol/payloads.js';
import { DataChannelSession } from '../../src/session/data-channel-session.js';
import type { SessionError } from '../../src/session/errors.js';
import { createTunnel } from '../../src/session/tunnel.js';
import { FakeTimers } from '../support/fake-timers.js';
import { FakeTransport } from '../support/fake-transport.js';

/** A port session with an agent old enough to run smux keep-alive (above 3.0.196.0, not above 3.1.1511.0). */
function keepAliveTunnel() {
  const timers = new FakeTimers();
  const transport = new FakeTransport();
  const session = new DataChannelSession(transport, { clientVersion: '1.2.650.0', timers });
  const errors: string[] = [];
  session.once('ready', (ready) => {
    const tunnel = createTunnel(session, ready);
    tunnel.on('error', (error: SessionError) => errors.push(error.message));
  });
  transport.deliver(0, PayloadType.HandshakeRequest, encodeHandshakeRequest({
    agentVersion: '3.1.1000.0',
    requestedClientActions: [{ actionType: 'SessionType', actionParameters: { SessionType: 'Port', Properties: { portNumber: '5432', type: 'LocalPortForwarding' } } }],
  }));
  transport.deliver(1, PayloadType.HandshakeComplete, '{"HandshakeTimeToComplete":1000000,"CustomerMessage":""}');
  // NOPs sent (each once: resends of one unacknowledged are the same message).
  const nops = () => new Set(transport.data().filter((m) => m.payloadType === PayloadType.Output && m.payload[1] === 3).map((m) => m.sequenceNumber)).size;
  return { timers, session, errors, nops };
}

describe('smux keep-alive respects ssmx\'s own backpressure', () => {
  it('a silent agent is dropped after 30 s', async () => {
    const { timers, errors, nops } = keepAliveTunnel();
    await timers.advance(20_000);
    expect(nops()).toBe(2);
    await timers.advance(20_000);
    expect(errors).toEqual(['smux keep-alive: nothing from the agent for 30 s']);
  });

  it('silence while ssmx itself has stopped reading ends nothing, however long; the count starts afresh after', async () => {
    const { timers, session, errors } = keepAliveTunnel();
    session.pauseReceiving();
    await timers.advance(120_000);
    expect(errors).toEqual([]);
    session.resumeReceiving();
    await timers.advance(25_000);
    expect(errors).toEqual([]);
    await timers.advance(20_000);
    expect(errors).toHaveLength(1);
  });
});
