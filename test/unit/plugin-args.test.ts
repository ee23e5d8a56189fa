import { describe, expect, it } from 'vitest';
import { parsePluginArgs, PluginArgumentError, RESPONSE_ENV_PREFIX } from '../../src/cli/plugin-args.js';

const response = { SessionId: 'user-0123456789abcdef0', TokenValue: 'token', StreamUrl: 'wss://ssmmessages.us-east-1.amazonaws.com/v1/data-channel/user-0123456789abcdef0?role=publish_subscribe' };
const params = JSON.stringify({ Target: 'i-0123456789abcdef0', DocumentName: 'AWS-StartPortForwardingSession', Parameters: { portNumber: ['80'] } });
const full = [JSON.stringify(response), 'us-east-1', 'StartSession', 'prod', params, 'https://ssm.us-east-1.amazonaws.com'];

const fails = (args: string[], env: Record<string, string> = {}) => {
  try {
    parsePluginArgs(args, env);
  } catch (error) {
    expect(error).toBeInstanceOf(PluginArgumentError);
    return (error as Error).message;
  }
  throw new Error('expected a PluginArgumentError');
};

describe('session-manager-plugin argument contract (docs/protocol.md §9)', () => {
  it('no arguments: the install probe', () => {
    expect(parsePluginArgs([], {})).toEqual({ kind: 'installed' });
  });

  it('--version alone prints the version', () => {
    expect(parsePluginArgs(['--version'], {})).toEqual({ kind: 'version' });
  });

  it('one or two other arguments: an unknown operation', () => {
    expect(fails(['start'])).toMatch(/unknown operation "start"/);
    expect(fails(['--version', 'x'])).toMatch(/unknown operation "--version"/);
  });

  it('the six arguments the AWS CLI passes', () => {
    expect(parsePluginArgs(full, {})).toEqual({
      kind: 'start',
      response: { sessionId: response.SessionId, tokenValue: 'token', streamUrl: response.StreamUrl },
      region: 'us-east-1',
      profile: 'prod',
      request: { target: 'i-0123456789abcdef0', documentName: 'AWS-StartPortForwardingSession', parameters: { portNumber: ['80'] } },
      endpointUrl: 'https://ssm.us-east-1.amazonaws.com',
      responseEnvName: undefined,
      legacy: false,
    });
  });

  it('an empty profile and endpoint mean none; arguments past the sixth are ignored', () => {
    const parsed = parsePluginArgs([full[0]!, 'eu-west-1', 'StartSession', '', params, '', 'extra'], {});
    expect(parsed).toMatchObject({ kind: 'start', region: 'eu-west-1', profile: undefined, endpointUrl: undefined });
  });

  it('the response may be given as the name of an environment variable holding it', () => {
    const name = `${RESPONSE_ENV_PREFIX}`;
    const parsed = parsePluginArgs([name, ...full.slice(1)], { [name]: JSON.stringify(response) });
    expect(parsed).toMatchObject({ kind: 'start', response: { sessionId: response.SessionId }, responseEnvName: name });
    const suffixed = `${RESPONSE_ENV_PREFIX}_42`;
    expect(parsePluginArgs([suffixed, ...full.slice(1)], { [suffixed]: JSON.stringify(response) })).toMatchObject({ responseEnvName: suffixed });
    expect(fails([name, ...full.slice(1)], {})).toMatch(/environment variable AWS_SSM_START_SESSION_RESPONSE is not set/);
  });

  it('reads the response keys case-insensitively (aws ecs execute-command sends camelCase)', () => {
    const ecs = JSON.stringify({ sessionId: 'ecs-execute-command-0a1b', streamUrl: 'wss://x/v1/data-channel/ecs-execute-command-0a1b', tokenValue: 't' });
    const parsed = parsePluginArgs([ecs, 'us-east-1', 'StartSession', '', JSON.stringify({ Target: 'ecs:cluster_task_runtime' })], {});
    expect(parsed).toMatchObject({ kind: 'start', response: { sessionId: 'ecs-execute-command-0a1b', tokenValue: 't' }, request: { target: 'ecs:cluster_task_runtime' } });
  });

  it('the 4-argument legacy form: no profile, parameters or endpoint', () => {
    expect(parsePluginArgs(full.slice(0, 3), {})).toMatchObject({ kind: 'start', legacy: true, profile: undefined, request: { target: undefined }, endpointUrl: undefined });
  });

  it('refuses bad input with a message that says what is wrong', () => {
    expect(fails(['{"SessionId":', ...full.slice(1)])).toMatch(/StartSession response is not valid JSON/);
    expect(fails(['[1,2]', ...full.slice(1)])).toMatch(/StartSession response must be a JSON object/);
    expect(fails([JSON.stringify({ SessionId: 's', TokenValue: 't' }), ...full.slice(1)])).toMatch(/StartSession response has no StreamUrl/);
    expect(fails([JSON.stringify({ ...response, TokenValue: 7 }), ...full.slice(1)])).toMatch(/StartSession response has no TokenValue/);
    expect(fails([full[0]!, 'us-east-1', 'Start', 'p', params, ''])).toMatch(/operation "Start".*only StartSession/);
    expect(fails([full[0]!, '', 'StartSession', 'p', params, ''])).toMatch(/no region/);
    expect(fails([full[0]!, 'us-east-1', 'StartSession', 'p', '{"Target":', ''])).toMatch(/request parameters are not valid JSON/);
    expect(fails([full[0]!, 'us-east-1', 'StartSession', 'p', '{"DocumentName":"x"}', ''])).toMatch(/request parameters have no Target/);
    expect(fails([full[0]!, 'us-east-1', 'StartSession', 'p', params, 'not a url'])).toMatch(/endpoint "not a url" is not a URL/);
    expect(fails([JSON.stringify({ ...response, StreamUrl: 'http://x/' }), ...full.slice(1)])).toMatch(/StreamUrl must be a ws:\/\/ or wss:\/\/ URL/);
  });
});
