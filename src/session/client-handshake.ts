import { ActionType, PayloadType, SessionType } from '../protocol/constants.js';
import { decodeEncChallenge, encodeEncChallenge, SessionCipher } from '../protocol/crypto.js';
import { ProtocolError } from '../protocol/errors.js';
import { field, type JsonObject } from '../protocol/json.js';
import { decodeHandshakeComplete, decodeHandshakeRequest, encodeHandshakeResponse, type HandshakeRequest } from '../protocol/payloads.js';
import { SessionError } from './errors.js';
import { answerHandshake, type KmsAnswer } from './handshake.js';

export interface SessionReady {
  sessionType: string;
  properties: JsonObject;
  /** Empty when the agent skipped the handshake (a plain shell). */
  agentVersion: string;
}

/** What KMS GenerateDataKey gave for the session, or why it gave nothing. */
export type DataKeyResult = { plaintext: Uint8Array; ciphertextBlob: Uint8Array } | { error: string };

/** What the handshake asks its owner to do; it never does I/O itself. */
export type HandshakeStep =
  | { kind: 'send'; payloadType: number; payload: Buffer }
  /**
   * Call KMS GenerateDataKey for this key, then hand the result to `dataKey`; with the agent's
   * random challenge in the encryption context when it sent one (docs/protocol.md §5).
   */
  | { kind: 'need-data-key'; keyId: string; challenge: string | undefined }
  | { kind: 'customer-message'; text: string }
  | { kind: 'ready'; ready: SessionReady; cipher: SessionCipher | undefined }
  /** Stream data for the session, as it came (still encrypted when the session is). */
  | { kind: 'output'; payloadType: number; payload: Buffer }
  | { kind: 'refused'; error: SessionError };

type State = 'awaiting-first-message' | 'awaiting-data-key' | 'handshaking' | 'ready' | 'refused';

/**
 * The client's side of the handshake (docs/protocol.md §4, §5) as a state machine: stream payloads
 * in, steps out. A plain shell skips it (its first message is output). Output that comes before
 * HandshakeComplete is kept and handed over, in order, right after `ready`.
 */
export class ClientHandshake {
  private state: State = 'awaiting-first-message';
  private cipher: SessionCipher | undefined;
  private request: HandshakeRequest | undefined;
  private pendingReady: SessionReady | undefined;
  /** The agent's KMS challenge, once the data key was made with it in the encryption context. */
  private challenge: string | undefined;
  private readonly early: Array<{ payloadType: number; payload: Buffer }> = [];

  constructor(
    private readonly clientVersion: string,
    /** False when ssmx cannot reach KMS here: a session that asks for encryption is refused. */
    private readonly canEncrypt: boolean,
  ) {}

  get isReady(): boolean {
    return this.state === 'ready';
  }

  receive(payloadType: number, payload: Buffer): HandshakeStep[] {
    switch (this.state) {
      case 'awaiting-first-message':
        if (payloadType === PayloadType.HandshakeRequest) return this.onRequest(payload);
        // No handshake: a plain shell, whose first message is already output (docs/protocol.md §1).
        this.state = 'ready';
        return [
          { kind: 'ready', ready: { sessionType: SessionType.StandardStream, properties: {}, agentVersion: '' }, cipher: undefined },
          { kind: 'output', payloadType, payload },
        ];
      case 'awaiting-data-key':
      case 'handshaking':
        return this.onHandshakeMessage(payloadType, payload);
      case 'ready':
        return [{ kind: 'output', payloadType, payload }];
      case 'refused':
        return [];
    }
  }

  /** KMS answered (or failed): the response goes out with the wrapped key, or refusing with the reason. */
  dataKey(result: DataKeyResult): HandshakeStep[] {
    if (this.state !== 'awaiting-data-key') return [];
    this.state = 'handshaking';
    if ('error' in result) return this.respond({ error: result.error });
    const cipher = SessionCipher.fromDataKey(result.plaintext, 'client');
    if (cipher instanceof ProtocolError) return this.respond({ error: `KMS gave an unusable data key: ${cipher.message}` });
    this.cipher = cipher;
    return this.respond({ cipherTextKey: result.ciphertextBlob, challengeAcknowledged: this.challenge !== undefined });
  }

  private onRequest(payload: Buffer): HandshakeStep[] {
    const request = decodeHandshakeRequest(payload);
    if (request instanceof ProtocolError) return this.refuse(new SessionError('PROTOCOL', `bad HandshakeRequest: ${request.message}`));
    this.request = request;
    const kmsAction = request.requestedClientActions.find((action) => action.actionType === ActionType.KMSEncryption);
    if (!kmsAction || !this.canEncrypt) {
      this.state = 'handshaking';
      return this.respond(undefined);
    }
    // The data key comes from KMS first; messages meanwhile wait as early output. Agents from
    // 3.3.808.0 send a random challenge that binds the key to this session: ssmx always takes it
    // into the encryption context and says so (agent contracts/model.go, KMSEncryptionRequest).
    const challenge = field(kmsAction.actionParameters, 'Challenge');
    this.challenge = typeof challenge === 'string' && challenge !== '' ? challenge : undefined;
    this.state = 'awaiting-data-key';
    return [{ kind: 'need-data-key', keyId: String(field(kmsAction.actionParameters, 'KMSKeyId') ?? ''), challenge: this.challenge }];
  }

  private respond(kms: KmsAnswer | undefined): HandshakeStep[] {
    const outcome = answerHandshake(this.request!, this.clientVersion, kms);
    // The response goes out even when it refuses, so the agent ends its side with the reason.
    const steps: HandshakeStep[] = [{ kind: 'send', payloadType: PayloadType.HandshakeResponse, payload: encodeHandshakeResponse(outcome.response) }];
    if (outcome.refusal !== undefined || outcome.sessionType === undefined) {
      return [...steps, ...this.refuse(new SessionError('HANDSHAKE', outcome.refusal ?? 'the agent asked for no session type'))];
    }
    this.pendingReady = { sessionType: outcome.sessionType, properties: outcome.properties, agentVersion: outcome.agentVersion };
    return steps;
  }

  private onHandshakeMessage(payloadType: number, payload: Buffer): HandshakeStep[] {
    if (payloadType === PayloadType.EncChallengeRequest) {
      if (!this.cipher) return this.refuse(new SessionError('HANDSHAKE', 'the agent sent an encryption challenge for a session ssmx did not encrypt'));
      return this.answerChallenge(payload);
    }
    if (payloadType !== PayloadType.HandshakeComplete || this.state !== 'handshaking') {
      this.early.push({ payloadType, payload });
      return [];
    }
    const complete = decodeHandshakeComplete(payload);
    if (complete instanceof ProtocolError) return this.refuse(new SessionError('PROTOCOL', `bad HandshakeComplete: ${complete.message}`));
    this.state = 'ready';
    const steps: HandshakeStep[] = [];
    if (complete.customerMessage) steps.push({ kind: 'customer-message', text: complete.customerMessage });
    steps.push({ kind: 'ready', ready: this.pendingReady!, cipher: this.cipher });
    for (const { payloadType: type, payload: data } of this.early.splice(0)) steps.push({ kind: 'output', payloadType: type, payload: data });
    return steps;
  }

  /** The agent proves the key: its random bytes, opened with ours and sealed back (docs/protocol.md §5). */
  private answerChallenge(payload: Buffer): HandshakeStep[] {
    const challenge = decodeEncChallenge(payload);
    const plain = challenge instanceof ProtocolError ? challenge : this.cipher!.openChallenge(challenge);
    if (plain instanceof ProtocolError) {
      return this.refuse(new SessionError('HANDSHAKE', `the agent's encryption challenge failed: ${plain.message}`, 'the agent and ssmx do not hold the same KMS data key'));
    }
    return [{ kind: 'send', payloadType: PayloadType.EncChallengeResponse, payload: encodeEncChallenge(this.cipher!.sealChallenge(plain)) }];
  }

  private refuse(error: SessionError): HandshakeStep[] {
    this.state = 'refused';
    return [{ kind: 'refused', error }];
  }
}
