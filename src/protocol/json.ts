import { ProtocolError } from './errors.js';

export type JsonObject = Record<string, unknown>;

/** Parses a JSON object payload; any other shape is a typed error. */
export function parseObject(payload: Uint8Array, what: string): JsonObject | ProtocolError {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch (error) {
    return new ProtocolError('BAD_JSON', `${what}: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return new ProtocolError('BAD_PAYLOAD', `${what}: expected a JSON object`);
  }
  return value as JsonObject;
}

/**
 * Reads a key as Go's encoding/json does: an exact match first, then any key equal ignoring case
 * (docs/protocol.md §9, §11). ECS, for one, sends `sessionId` where SSM sends `SessionId`.
 */
export function field(object: JsonObject, key: string): unknown {
  if (key in object) return object[key];
  const lower = key.toLowerCase();
  for (const candidate of Object.keys(object)) {
    if (candidate.toLowerCase() === lower) return object[candidate];
  }
  return undefined;
}

export function stringField(object: JsonObject, key: string): string | undefined {
  const value = field(object, key);
  return typeof value === 'string' ? value : undefined;
}

export function numberField(object: JsonObject, key: string): number | undefined {
  const value = field(object, key);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
