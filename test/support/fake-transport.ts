import { EventEmitter } from 'node:events';
import { MessageType } from '../../src/protocol/constants.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { decodeAgentMessage, encodeAgentMessage, type DecodedAgentMessage } from '../../src/protocol/message.js';
import { encodeAcknowledge, encodeChannelClosed } from '../../src/protocol/payloads.js';

export const T = 1_732_800_000_000;

/** A data channel transport that records every frame sent and lets a test play the agent. */
export class FakeTransport extends EventEmitter {
  sent: DecodedAgentMessage[] = [];
  paused = false;
  send(frame: Buffer) {
    const m = decodeAgentMessage(frame);
    if (m instanceof ProtocolError) throw m;
    this.sent.push(m);
  }
  /** ssmx has closed its end (`close`); `isClosed` once the service has closed its own. */
  closed = false;
  /** Set, the service has not yet closed its end after `close`: `finishClose` does it. */
  holdClose = false;
  isClosed = false;
  close() {
    this.closed = true;
    if (!this.holdClose) this.finishClose();
  }
  finishClose() {
    if (this.isClosed) return;
    this.isClosed = true;
    this.emit('close', undefined);
  }
  pause() {
    this.paused = true;
  }
  resume() {
    this.paused = false;
  }
  deliver(sequenceNumber: number, payloadType: number, payload: Buffer | string) {
    this.emit('frame', encodeAgentMessage({
      messageType: MessageType.OutputStreamData, schemaVersion: 1, createdDate: T, sequenceNumber: BigInt(sequenceNumber),
      flags: sequenceNumber === 0 ? 1n : 0n, messageId: `00000000-0000-4000-8000-${String(sequenceNumber).padStart(12, '0')}`,
      payloadType, payload: Buffer.from(payload),
    }));
  }
  /** The agent's acknowledgement of one message this side sent. */
  acknowledge(message: DecodedAgentMessage) {
    this.emit('frame', encodeAgentMessage({
      messageType: MessageType.Acknowledge, schemaVersion: 1, createdDate: T, sequenceNumber: 0n, flags: 3n,
      messageId: '00000000-0000-4000-8000-ffffffffffff', payloadType: 0,
      payload: encodeAcknowledge({
        acknowledgedMessageType: message.messageType, acknowledgedMessageId: message.messageId,
        acknowledgedMessageSequenceNumber: Number(message.sequenceNumber), isSequentialMessage: true,
      }),
    }));
  }
  channelClosed(output = '') {
    this.emit('frame', encodeAgentMessage({
      messageType: MessageType.ChannelClosed, schemaVersion: 1, createdDate: T, sequenceNumber: 0n, flags: 0n,
      messageId: '00000000-0000-4000-8000-eeeeeeeeeeee', payloadType: 0,
      payload: encodeChannelClosed({ messageId: 'm', createdDate: String(T), destinationId: 'd', sessionId: 's', messageType: 'channel_closed', schemaVersion: 1, output }),
    }));
  }
  data() {
    return this.sent.filter((m) => m.messageType === 'input_stream_data');
  }
}
