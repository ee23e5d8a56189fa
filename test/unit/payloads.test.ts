import { describe, expect, it } from 'vitest';
import * as P from '../../src/protocol/payloads.js';
import { ProtocolError } from '../../src/protocol/errors.js';
import { isVersionGreater } from '../../src/protocol/version.js';
import { loadVectors } from '../support/vectors.js';

const vectors = Object.fromEntries(loadVectors().map((v) => [v.name, v]));
const payloadOf = (name: string) => Buffer.from(vectors[name]!.payloadHex, 'hex');

describe('JSON payloads, byte-exact against the vectors', () => {
  it('acknowledge encodes to the vector payload and decodes back', () => {
    const ack = {
      acknowledgedMessageType: 'output_stream_data',
      acknowledgedMessageId: '0123e567-89ab-4cde-8f01-23456789abcd',
      acknowledgedMessageSequenceNumber: 7,
      isSequentialMessage: true,
    };
    expect(P.encodeAcknowledge(ack)).toEqual(payloadOf('acknowledge'));
    expect(P.decodeAcknowledge(payloadOf('acknowledge'))).toEqual(ack);
  });

  it('size encodes cols first, lower-case keys', () => {
    expect(P.encodeSize({ cols: 120, rows: 40 })).toEqual(payloadOf('input-size'));
    expect(P.decodeSize(payloadOf('input-size'))).toEqual({ cols: 120, rows: 40 });
  });

  it('flag is a 4-byte big-endian uint32', () => {
    expect(P.encodeFlag(1)).toEqual(payloadOf('flag-disconnect-to-port'));
    expect(P.encodeFlag(2).toString('hex')).toBe('00000002');
    expect(P.decodeFlag(Buffer.from('00000003', 'hex'))).toBe(3);
    expect(P.decodeFlag(Buffer.from('0003', 'hex'))).toBeInstanceOf(ProtocolError);
  });

  it('handshake request round-trips the vector', () => {
    const request = P.decodeHandshakeRequest(payloadOf('handshake-request'));
    expect(request).toEqual({
      agentVersion: '3.3.1142.0',
      requestedClientActions: [
        {
          actionType: 'SessionType',
          actionParameters: { SessionType: 'Port', Properties: { portNumber: '5432', type: 'LocalPortForwarding' } },
        },
      ],
    });
    expect(P.encodeHandshakeRequest(request as P.HandshakeRequest)).toEqual(payloadOf('handshake-request'));
  });

  it('handshake response has the plugin shape, Errors null when none', () => {
    const bytes = P.encodeHandshakeResponse({
      clientVersion: '1.2.650.0',
      processedClientActions: [{ actionType: 'SessionType', actionStatus: 1, actionResult: null, error: '' }],
      errors: null,
    });
    expect(bytes.toString()).toBe(
      '{"ClientVersion":"1.2.650.0","ProcessedClientActions":[{"ActionType":"SessionType","ActionStatus":1,"ActionResult":null,"Error":""}],"Errors":null}',
    );
    expect(P.decodeHandshakeResponse(bytes)).toEqual({
      clientVersion: '1.2.650.0',
      processedClientActions: [{ actionType: 'SessionType', actionStatus: 1, actionResult: null, error: '' }],
      errors: null,
    });
  });

  it('handshake complete uses nanoseconds and the customer message', () => {
    const bytes = Buffer.from('{"HandshakeTimeToComplete":1000000,"CustomerMessage":"Handshake Complete"}');
    expect(P.decodeHandshakeComplete(bytes)).toEqual({ handshakeTimeToComplete: 1000000, customerMessage: 'Handshake Complete' });
    expect(P.encodeHandshakeComplete({ handshakeTimeToComplete: 1000000, customerMessage: 'Handshake Complete' })).toEqual(bytes);
  });

  it('channel_closed keeps CreatedDate a string and survives a payload that does not parse', () => {
    const closed = {
      messageId: 'm', createdDate: '1732800000000', destinationId: 'destination-id', sessionId: 's',
      messageType: 'channel_closed', schemaVersion: 1, output: 'payload',
    };
    const bytes = P.encodeChannelClosed(closed);
    expect(bytes.toString()).toContain('"CreatedDate":"1732800000000"');
    expect(P.decodeChannelClosed(bytes)).toEqual(closed);
    expect(P.decodeChannelClosed(Buffer.from('{oops')).output).toBe('');
  });

  it('keys are read case-insensitively, as Go does', () => {
    const ack = P.decodeAcknowledge(Buffer.from('{"acknowledgedmessagesequencenumber":4}'));
    expect(ack).toMatchObject({ acknowledgedMessageSequenceNumber: 4 });
  });

  it('garbage JSON is a typed error', () => {
    for (const text of ['', 'null', '[]', '{', '"x"']) {
      expect(P.decodeAcknowledge(Buffer.from(text))).toBeInstanceOf(ProtocolError);
      expect(P.decodeHandshakeRequest(Buffer.from(text))).toBeInstanceOf(ProtocolError);
    }
    expect(P.decodeAcknowledge(Buffer.from('{"AcknowledgedMessageSequenceNumber":9007199254740993}'))).toBeInstanceOf(ProtocolError);
  });

  it('open data channel has the five keys in the plugin order', () => {
    const text = P.encodeOpenDataChannel({
      messageSchemaVersion: '1.0', requestId: 'r', tokenValue: 't', clientId: 'c', clientVersion: '1.2.650.0',
    });
    expect(text).toBe('{"MessageSchemaVersion":"1.0","RequestId":"r","TokenValue":"t","ClientId":"c","ClientVersion":"1.2.650.0"}');
  });
});

describe('version gates (docs/protocol.md §8, versionvalidator_test)', () => {
  it('multiplexing is strictly above 3.0.196.0', () => {
    for (const v of ['3.0.196.0', '3.0.195.100', '2.99.1000.0']) expect(isVersionGreater(v, '3.0.196.0')).toBe(false);
    for (const v of ['3.0.196.1', '3.0.197.0', '3.1.0.0', '4.0.0.0']) expect(isVersionGreater(v, '3.0.196.0')).toBe(true);
  });
  it('TerminateSession flag strictly above 2.3.722.0; keep-alive off above 3.1.1511.0', () => {
    expect(isVersionGreater('2.3.722.0', '2.3.722.0')).toBe(false);
    expect(isVersionGreater('2.3.614.0', '2.3.722.0')).toBe(false);
    expect(isVersionGreater('2.3.723.0', '2.3.722.0')).toBe(true);
    expect(isVersionGreater('3.1.1476.0', '3.1.1511.0')).toBe(false);
    expect(isVersionGreater('3.1.1600.0', '3.1.1511.0')).toBe(true);
  });
  it('unparsable versions are not supported', () => {
    for (const v of ['', 'a.b.c.d', '1.4.1.2.4.1', '3,1,0,0', '3.1.0']) expect(isVersionGreater(v, '3.0.196.0')).toBe(false);
  });
});
