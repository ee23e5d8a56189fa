import { isIPv4, isIPv6 } from 'node:net';
import { UsageError } from '../errors.js';
import type { PortForwardSpec } from './types.js';

export interface PortSpec {
  /** As the user wrote it, for messages. */
  text: string;
  /** A TCP port to listen on (0: any free one), or a Unix socket path. */
  local: { kind: 'tcp'; port: number } | { kind: 'unix'; path: string };
  /** The local address to listen on, when the spec names one (`[::1]:8080:5432`); else --bind's. */
  bind?: string;
  /** A host reachable from the instance (an IPv6 literal without its brackets); absent: the instance itself. */
  remoteHost: string | undefined;
  remotePort: number;
}

const HINT = 'forms: 5432, 15432:5432, 0:5432, 8080:db.internal:5432, 8080:[fd00::5]:5432, [::1]:8080:5432, 127.0.0.2:8080:db:5432, ./pg.sock:5432';

/** The fields of a spec: split at colons outside brackets, so an IPv6 address stays one field. */
function fields(spec: string): string[] {
  const found: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of spec) {
    if (char === '[') depth++;
    else if (char === ']') depth--;
    if (char === ':' && depth === 0) {
      found.push(current);
      current = '';
    } else current += char;
  }
  found.push(current);
  return found;
}

const bracketed = (text: string) => /^\[[0-9A-Fa-f:.]+\]$/.test(text);
const bare = (text: string) => text.replace(/^\[|\]$/g, '');

function hostField(text: string, spec: string, what: string): string {
  if (bracketed(text)) {
    if (isIPv6(bare(text))) return bare(text);
  } else if (what === 'a local address' ? isIPv4(text) || text === 'localhost' : /^[A-Za-z0-9.-]+$/.test(text)) return text;
  throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not ${what}`, HINT);
}

function port(text: string, spec: string, allowZero: boolean): number {
  if (!/^\d{1,5}$/.test(text)) throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${JSON.stringify(text)} is not a port number`, HINT);
  const value = Number(text);
  if (value > 65535 || (value === 0 && !allowZero)) {
    throw new UsageError(`bad port spec ${JSON.stringify(spec)}: ${value} is not a port (${allowZero ? 0 : 1} to 65535)`, HINT);
  }
  return value;
}

/**
 * Parses a forwarding spec. The local end is a port or, when it contains a slash, a Unix socket
 * path; the remote end is a port on the instance or `host:port` reachable from it.
 */
export function parsePortSpec(spec: string): PortSpec {
  const parts = fields(spec);
  if (parts.some((part) => part === '')) throw new UsageError(`bad port spec ${JSON.stringify(spec)}: empty field`, HINT);
  const localOf = (text: string): PortSpec['local'] =>
    text.includes('/') ? { kind: 'unix', path: text } : { kind: 'tcp', port: port(text, spec, true) };
  switch (parts.length) {
    case 1: {
      const remotePort = port(parts[0]!, spec, false);
      return { text: spec, local: { kind: 'tcp', port: remotePort }, remoteHost: undefined, remotePort };
    }
    case 2:
      return { text: spec, local: localOf(parts[0]!), remoteHost: undefined, remotePort: port(parts[1]!, spec, false) };
    case 3: {
      // [addr]:port:remote-port names a local address; otherwise the middle field is the remote host.
      if (bracketed(parts[0]!)) {
        return { text: spec, bind: hostField(parts[0]!, spec, 'a local address'), local: { kind: 'tcp', port: port(parts[1]!, spec, true) }, remoteHost: undefined, remotePort: port(parts[2]!, spec, false) };
      }
      return { text: spec, local: localOf(parts[0]!), remoteHost: hostField(parts[1]!, spec, 'a host name'), remotePort: port(parts[2]!, spec, false) };
    }
    case 4:
      // As ssh -L: local address, local port, remote host, remote port.
      return {
        text: spec,
        bind: hostField(parts[0]!, spec, 'a local address'),
        local: { kind: 'tcp', port: port(parts[1]!, spec, true) },
        remoteHost: hostField(parts[2]!, spec, 'a host name'),
        remotePort: port(parts[3]!, spec, false),
      };
    default:
      throw new UsageError(`bad port spec ${JSON.stringify(spec)}`, HINT);
  }
}

/**
 * A spec as a program gives it: a string as `ssmx forward` takes it, or an object, written as a
 * string would be and parsed the same (its local address apart: `127.0.0.2:8080:5432` would read
 * as a remote host).
 */
export function portSpecOf(given: string | PortForwardSpec): PortSpec {
  if (typeof given === 'string') return parsePortSpec(given);
  const bracket = (host: string) => (host.includes(':') ? `[${host}]` : host);
  const spec = parsePortSpec([String(given.local ?? 0), ...(given.host !== undefined ? [bracket(given.host)] : []), String(given.port)].join(':'));
  return given.bind === undefined ? spec : { ...spec, bind: given.bind, text: `${bracket(given.bind)}:${spec.text}` };
}
