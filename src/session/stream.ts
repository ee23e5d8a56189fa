import type { Readable, Writable } from 'node:stream';
import { PayloadType } from '../protocol/constants.js';
import type { ChannelClosed } from '../protocol/payloads.js';
import type { DataChannelSession } from './data-channel-session.js';
import type { SessionError } from './errors.js';
import { ChannelDuplex, ReceiveBudget, SessionWriter } from './session-io.js';

export interface StreamIo {
  stdin: Readable;
  stdout: Writable;
}

export interface StreamOutcome {
  /** The agent's channel_closed, or undefined when ssmx stopped waiting for it after stdin's end. */
  closed: ChannelClosed | undefined;
}

/** Bytes stdout may hold unwritten before ssmx stops reading the data channel (as for tunnels). */
export const STDOUT_BUDGET = 4 * 1024 * 1024;

/** How long, after stdin's end, to wait for the agent's acks before the session is ended anyway. */
export const ACK_WAIT_MS = 10_000;

/**
 * Joins a stream session (AWS-StartSSHSession: a Port session without a `type`, docs/protocol.md §8) to
 * stdin/stdout as raw bytes, for ssh's ProxyCommand. Call it from a `ready` listener.
 *
 * The data channel has no half-close. When stdin ends (ssh has closed its side: it is done), ssmx
 * waits until the agent has acknowledged every byte (the agent acknowledges a message once its
 * write to the destination returned), then ends the session with the TerminateSession flag (the
 * API for agents too old for it): the agent closes its connection to the destination, which so sees
 * the end of its input, and reports the session Success ("Session cancelled", port_basic.go). The
 * DisconnectToPort flag would close the connection under the agent's read, which it takes for a
 * failure: "Failed to read from port: use of closed network connection" (`handleSSHDPortError`),
 * the session Failed in the account's history for every scp. The outcome resolves at the
 * service's channel_closed, or once ssmx has ended the session.
 */
export function runStream(session: DataChannelSession, io: StreamIo): Promise<StreamOutcome> {
  const { stdin, stdout } = io;
  let ackTimer: NodeJS.Timeout | undefined;
  const writer = new SessionWriter(session);

  return new Promise<StreamOutcome>((resolve, reject) => {
    const finish = (outcome: { ok: StreamOutcome } | { error: SessionError }) => {
      clearTimeout(ackTimer);
      stdin.unpipe(stream);
      stdin.pause();
      stream.unpipe(stdout);
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.error);
    };

    const disconnect = () => {
      if (!session.isReady) return;
      void session.terminate().then(() => finish({ ok: { closed: undefined } }));
    };

    /** stdin has ended: once every byte is acknowledged, the session is ended on the service. */
    const afterLastAck = (done: () => void) => {
      done();
      if (session.unacknowledged === 0) return disconnect();
      // An agent that never acks a duplicate may leave a message resent after a drop unacknowledged
      // for good; the agent takes messages in order, so past a bound the flag goes anyway.
      const onAcknowledged = () => {
        clearTimeout(ackTimer);
        disconnect();
      };
      ackTimer = setTimeout(() => {
        session.off('acknowledged', onAcknowledged);
        disconnect();
      }, ACK_WAIT_MS);
      session.once('acknowledged', onAcknowledged);
    };

    const stream = new ChannelDuplex({
      send: (data, done) => writer.write(PayloadType.Output, data, done),
      finish: afterLastAck,
      budget: new ReceiveBudget(session, STDOUT_BUDGET),
    });
    session.on('output', (payloadType, payload) => {
      if (payloadType === PayloadType.Output) stream.deliver(payload);
    });
    session.once('closed', (closed) => finish({ ok: { closed } }));
    session.once('error', (error) => finish({ error }));
    stream.pipe(stdout, { end: false });
    stdin.pipe(stream);
  });
}
