import { ActionStatus, ActionType, SessionType } from '../protocol/constants.js';
import type { JsonObject } from '../protocol/json.js';
import { field } from '../protocol/json.js';
import type { HandshakeRequest, HandshakeResponse, ProcessedClientAction } from '../protocol/payloads.js';

export interface HandshakeOutcome {
  response: HandshakeResponse;
  /** Standard_Stream for every shell-like type (the plugin maps them so), or Port. */
  sessionType: string | undefined;
  properties: JsonObject;
  agentVersion: string;
  /** Why the session cannot go on, when the response refuses an action. */
  refusal: string | undefined;
}

const shellTypes = new Set<string>([SessionType.StandardStream, SessionType.InteractiveCommands, SessionType.NonInteractiveCommands]);

/** What ssmx got from KMS for a KMSEncryption action: the wrapped data key, or why it has none. */
export type KmsAnswer = { cipherTextKey: Uint8Array; challengeAcknowledged?: boolean } | { error: string };

/**
 * Answers a HandshakeRequest (docs/protocol.md §4): actions in the order received; a session type ssmx runs
 * is accepted; KMS encryption is accepted with the wrapped data key ssmx got from KMS, or refused
 * with a reason the agent logs and the user sees. Pure: the caller calls KMS and sends the response.
 */

export function answerHandshake(request: HandshakeRequest, clientVersion: string, kms?: KmsAnswer): HandshakeOutcome {
  const processed: ProcessedClientAction[] = [];
  const errors: string[] = [];
  let sessionType: string | undefined;
  let properties: JsonObject = {};
  let refusal: string | undefined;

  const refuse = (actionType: string, status: number, reason: string) => {
    const error = `Failed to process action ${actionType}: ${reason}`;
    processed.push({ actionType, actionStatus: status, actionResult: null, error });
    errors.push(error);
    refusal ??= reason;
  };

  for (const action of request.requestedClientActions) {
    switch (action.actionType) {
      case ActionType.SessionType: {
        const requested = field(action.actionParameters, 'SessionType');
        if (typeof requested === 'string' && (shellTypes.has(requested) || requested === SessionType.Port)) {
          sessionType = requested === SessionType.Port ? SessionType.Port : SessionType.StandardStream;
          const raw = field(action.actionParameters, 'Properties');
          properties = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as JsonObject) : {};
          processed.push({ actionType: action.actionType, actionStatus: ActionStatus.Success, actionResult: null, error: '' });
        } else {
          refuse(action.actionType, ActionStatus.Failed, `Unknown session type ${String(requested)}`);
        }
        break;
      }
      case ActionType.KMSEncryption:
        if (kms && 'cipherTextKey' in kms) {
          // Go encodes []byte as standard base64 in JSON (docs/protocol.md §5). The acknowledgement
          // tells the agent to add the challenge to its kms:Decrypt context (agent
          // contracts/model.go, KMSEncryptionResponse; datachannel.go, finalizeKMSEncryption).
          const result = { KMSCipherTextKey: Buffer.from(kms.cipherTextKey).toString('base64'), ...(kms.challengeAcknowledged ? { ChallengeAcknowledgement: true } : {}) };
          processed.push({ actionType: action.actionType, actionStatus: ActionStatus.Success, actionResult: result, error: '' });
        } else {
          refuse(action.actionType, ActionStatus.Failed, kms?.error ?? 'this session requires KMS encryption, and ssmx has no way to reach KMS here');
        }
        break;
      default:
        refuse(action.actionType, ActionStatus.Unsupported, `Unsupported action ${action.actionType}`);
        break;
    }
  }
  return {
    response: { clientVersion, processedClientActions: processed, errors: errors.length > 0 ? errors : null },
    sessionType,
    properties,
    agentVersion: request.agentVersion,
    refusal,
  };
}
