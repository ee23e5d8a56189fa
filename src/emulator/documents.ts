import { SessionType } from '../protocol/constants.js';

export interface SessionDocument {
  name: string;
  sessionType: string;
  /** Builds the plugin properties from the StartSession parameters (values are string lists). */
  properties(parameters: Record<string, string[]>): Record<string, unknown>;
}

const first = (parameters: Record<string, string[]>, key: string, fallback = ''): string => parameters[key]?.[0] ?? fallback;

/** The session documents the emulator knows; the default shell document when none is named. */
const documents: SessionDocument[] = [
  {
    name: 'SSM-SessionManagerRunShell',
    sessionType: SessionType.StandardStream,
    properties: () => ({ linux: { commands: '', runAsElevated: false }, windows: { commands: '', runAsElevated: false } }),
  },
  {
    name: 'AWS-StartInteractiveCommand',
    sessionType: SessionType.InteractiveCommands,
    properties: (p) => ({ linux: { commands: first(p, 'command'), runAsElevated: false } }),
  },
  {
    name: 'AWS-StartPortForwardingSession',
    sessionType: SessionType.Port,
    properties: (p) => ({ portNumber: first(p, 'portNumber', '80'), type: 'LocalPortForwarding', localPortNumber: first(p, 'localPortNumber', '0') }),
  },
  {
    name: 'AWS-StartPortForwardingSessionToRemoteHost',
    sessionType: SessionType.Port,
    properties: (p) => ({
      host: first(p, 'host'),
      portNumber: first(p, 'portNumber', '80'),
      type: 'LocalPortForwarding',
      localPortNumber: first(p, 'localPortNumber', '0'),
    }),
  },
  {
    // No `type`: the client joins the stream to stdin/stdout (ssh's ProxyCommand).
    name: 'AWS-StartSSHSession',
    sessionType: SessionType.Port,
    properties: (p) => ({ portNumber: first(p, 'portNumber', '22') }),
  },
  {
    name: 'AWS-StartNonInteractiveCommand',
    sessionType: SessionType.NonInteractiveCommands,
    properties: (p) => ({ linux: { commands: first(p, 'command'), runAsElevated: false } }),
  },
];

export const DEFAULT_DOCUMENT = 'SSM-SessionManagerRunShell';

export function findDocument(name: string | undefined): SessionDocument | undefined {
  return documents.find((document) => document.name === (name ?? DEFAULT_DOCUMENT));
}
