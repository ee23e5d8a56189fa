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

/** A document of the account's own: every version's content, and which one is the default. */
interface OwnDocument {
  versions: Array<{ content: string; document: SessionDocument }>;
  defaultVersion: number;
}

/**
 * The AWS-owned session documents, and those created in this emulator's account (CreateDocument),
 * with versions as the service keeps them (UpdateDocument adds one, UpdateDocumentDefaultVersion
 * picks the one sessions use).
 */
export class DocumentStore {
  private readonly custom = new Map<string, OwnDocument>();

  find(name: string | undefined): SessionDocument | undefined {
    const wanted = name ?? DEFAULT_DOCUMENT;
    const own = this.custom.get(wanted);
    return documents.find((document) => document.name === wanted) ?? own?.versions[own.defaultVersion - 1]!.document;
  }

  /** Adds a document; false when one of that name exists. */
  create(document: SessionDocument, content: string): boolean {
    if (this.find(document.name)) return false;
    this.custom.set(document.name, { versions: [{ content, document }], defaultVersion: 1 });
    return true;
  }

  /** A version's content (the default one when none is asked for), or undefined. */
  content(name: string, version?: number): { content: string; version: number; latest: number; defaultVersion: number } | undefined {
    const own = this.custom.get(name);
    if (!own) return undefined;
    const number = version ?? own.defaultVersion;
    const found = own.versions[number - 1];
    return found && { content: found.content, version: number, latest: own.versions.length, defaultVersion: own.defaultVersion };
  }

  /** A new latest version; its number. */
  update(name: string, document: SessionDocument, content: string): number {
    const own = this.custom.get(name)!;
    own.versions.push({ content, document });
    return own.versions.length;
  }

  setDefault(name: string, version: number): boolean {
    const own = this.custom.get(name);
    if (!own || version < 1 || version > own.versions.length) return false;
    own.defaultVersion = version;
    return true;
  }
}

const SESSION_TYPES: string[] = [SessionType.StandardStream, SessionType.InteractiveCommands, SessionType.NonInteractiveCommands, SessionType.Port];

/**
 * A Session document from its JSON content (schemaVersion 1.0): its sessionType, and properties in
 * which `{{ name }}` takes the StartSession parameter (or the document's default). Throws a
 * message for content the service would refuse.
 */
export function sessionDocumentFrom(name: string, content: string): SessionDocument {
  let parsed: { schemaVersion?: unknown; sessionType?: unknown; parameters?: Record<string, { default?: unknown }>; properties?: unknown };
  try {
    parsed = JSON.parse(content);
  } catch (error) {
    throw new Error(`the content is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed.schemaVersion !== '1.0') throw new Error('schemaVersion must be "1.0"');
  if (typeof parsed.sessionType !== 'string' || !SESSION_TYPES.includes(parsed.sessionType)) {
    throw new Error(`sessionType must be one of ${SESSION_TYPES.join(', ')}`);
  }
  const defaults = Object.fromEntries(Object.entries(parsed.parameters ?? {}).map(([key, spec]) => [key, spec?.default === undefined ? '' : String(spec.default)]));
  const template = JSON.stringify(parsed.properties ?? {});
  return {
    name,
    sessionType: parsed.sessionType,
    properties: (p) =>
      JSON.parse(template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => JSON.stringify(p[key]?.join(' ') ?? defaults[key] ?? '').slice(1, -1))) as Record<string, unknown>,
  };
}

