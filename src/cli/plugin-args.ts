import type { StartedSession } from '../aws/ssm.js';
import { field, stringField, type JsonObject } from '../protocol/json.js';
import { UsageError } from './errors.js';

/**
 * The argument contract of `session-manager-plugin` (docs/protocol.md §9), read without I/O:
 *
 *   session-manager-plugin <response-json | AWS_SSM_START_SESSION_RESPONSE…> <region> StartSession
 *                          [<profile> [<request-params-json> [<ssm-endpoint-url>]]]
 */

/** A first argument starting with this names the environment variable that holds the response. */
export const RESPONSE_ENV_PREFIX = 'AWS_SSM_START_SESSION_RESPONSE';

export class PluginArgumentError extends UsageError {}

/** What the AWS CLI asked StartSession for; only what ssmx uses of it. */
export interface PluginRequest {
  target: string | undefined;
  documentName?: string;
  parameters?: Record<string, string[]>;
}

export type PluginInvocation =
  | { kind: 'installed' }
  | { kind: 'version' }
  | {
      kind: 'start';
      response: StartedSession;
      region: string;
      profile: string | undefined;
      request: PluginRequest;
      endpointUrl: string | undefined;
      /** The environment variable the response came from; the caller unsets it, as the plugin does. */
      responseEnvName: string | undefined;
      /** The 4-argument form of old AWS CLIs. */
      legacy: boolean;
    };

const usageHint = 'the AWS CLI runs it as: session-manager-plugin <response> <region> StartSession <profile> <parameters> <endpoint>';

function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PluginArgumentError(`the ${what} not valid JSON: ${(error as Error).message}`, usageHint);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PluginArgumentError(`the ${what.replace(/ (is|are)$/, '')} must be a JSON object`, usageHint);
  }
  return value as JsonObject;
}

function parseResponse(text: string): StartedSession {
  const object = parseJsonObject(text, 'StartSession response is');
  const read = (key: string) => {
    const value = stringField(object, key);
    if (!value) throw new PluginArgumentError(`the StartSession response has no ${key}`, 'pass the StartSession output as it came: SessionId, TokenValue and StreamUrl');
    return value;
  };
  const response = { sessionId: read('SessionId'), tokenValue: read('TokenValue'), streamUrl: read('StreamUrl') };
  if (!/^wss?:\/\//i.test(response.streamUrl)) {
    throw new PluginArgumentError(`the StreamUrl must be a ws:// or wss:// URL, not ${JSON.stringify(response.streamUrl)}`);
  }
  return response;
}

function parseRequest(text: string | undefined): PluginRequest {
  if (text === undefined) return { target: undefined };
  const object = parseJsonObject(text, 'request parameters are');
  const target = stringField(object, 'Target');
  if (!target) throw new PluginArgumentError('the request parameters have no Target', 'they are the StartSession parameters as JSON, e.g. {"Target":"i-0123456789abcdef0"}');
  const request: PluginRequest = { target };
  const documentName = stringField(object, 'DocumentName');
  if (documentName) request.documentName = documentName;
  const parameters = field(object, 'Parameters');
  if (parameters && typeof parameters === 'object' && !Array.isArray(parameters)) {
    request.parameters = Object.fromEntries(
      Object.entries(parameters).map(([key, value]) => [key, Array.isArray(value) ? value.map(String) : [String(value)]]),
    );
  }
  return request;
}

/** Reads the plugin's arguments (without the program name) and the environment. */
export function parsePluginArgs(args: readonly string[], env: NodeJS.ProcessEnv): PluginInvocation {
  if (args.length === 0) return { kind: 'installed' };
  if (args.length === 1 && args[0] === '--version') return { kind: 'version' };
  if (args.length < 3) {
    throw new PluginArgumentError(`unknown operation "${args[0]}"`, `session-manager-plugin --version prints the version; ${usageHint}`);
  }
  const [first, region, operation, profile, requestJson, endpoint] = args as [string, string, string, string?, string?, string?];
  if (operation !== 'StartSession') {
    throw new PluginArgumentError(`invalid operation "${operation}": only StartSession is supported`, usageHint);
  }
  if (!region) throw new PluginArgumentError('no region was given (the second argument)', usageHint);

  let responseText = first;
  let responseEnvName: string | undefined;
  if (first.startsWith(RESPONSE_ENV_PREFIX)) {
    responseEnvName = first;
    const value = env[first];
    if (value === undefined) throw new PluginArgumentError(`the environment variable ${first} is not set`, 'the AWS CLI sets it to the StartSession response before it runs the plugin');
    responseText = value;
  }
  const response = parseResponse(responseText);
  const request = parseRequest(requestJson);
  const endpointUrl = endpoint || undefined;
  if (endpointUrl !== undefined && !URL.canParse(endpointUrl)) {
    throw new PluginArgumentError(`the endpoint "${endpointUrl}" is not a URL`, usageHint);
  }
  return { kind: 'start', response, region, profile: profile || undefined, request, endpointUrl, responseEnvName, legacy: args.length === 3 };
}
